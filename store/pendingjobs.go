package store

import (
	"context"
	"fmt"
	"strconv"
	"time"
)

// KindJobTests is the skipped ledger's kind of a job whose tests could not be read
// (KindJobDetails that of one whose details could not); the id is JobRef's.
const KindJobTests = "job_tests"

// JobRef is the ledger id of the project's job number: "slug/number".
func JobRef(projectSlug string, number int64) string {
	return projectSlug + "/" + strconv.FormatInt(number, 10)
}

// PendingJob is a terminal build job whose details or tests a sync that includes
// them has not read yet.
type PendingJob struct {
	Number int64
	// ID and Name are one of the job's rows (a job listed under several workflows
	// has the same number and name in each).
	ID   string
	Name string
	// Details and Tests say which are still to read; Retried that the job has
	// an entry in the skipped ledger (of either kind): a read that succeeds
	// takes its kind's entry off (one SkipRetry brought back).
	Details, Tests, Retried bool
}

// SkipRetry says which skipped-ledger entries of a job's extras PendingJobs
// lists again: those of Reason (a transient one) last seen before Before and
// first seen since Since (older ones are given up). The zero value: none.
type SkipRetry struct {
	Reason        string
	Before, Since time.Time
}

// PendingJobs returns up to limit of the project's terminal build jobs numbered
// above after, in number order, whose details (when details) or tests (when tests)
// were never read: no row in circleci_job_details (circleci_job_tests, the tests
// ledger) and no entry of KindJobDetails (KindJobTests) in the skipped ledger,
// unless retry brings the entry back.
func (q *queries) PendingJobs(ctx context.Context, projectSlug string, after int64, limit int,
	details, tests bool, retry SkipRetry) ([]PendingJob, error) {
	if !details && !tests {
		return nil, nil
	}
	entry := func(kind string) string {
		return fmt.Sprintf(`SELECT 1 FROM circleci_skipped s WHERE s.kind = '%s'
			AND s.id = $1 || '/' || CAST(j.job_number AS TEXT)`, kind)
	}
	kept := `NOT (s.reason = $4 AND s.last_seen < $5 AND s.first_seen >= $6)`
	missing := func(on bool, table, kind string) string {
		if !on {
			return "0"
		}
		return fmt.Sprintf(`CASE WHEN NOT EXISTS (SELECT 1 FROM %s x WHERE x.project_slug = $1 AND x.job_number = j.job_number)
			AND NOT EXISTS (%s AND %s) THEN 1 ELSE 0 END`, table, entry(kind), kept)
	}
	query := `SELECT job_number, id, name, want_details, want_tests, retried FROM (
		SELECT j.job_number, MIN(j.id) AS id, MIN(j.name) AS name,
			` + missing(details, jobDetailsTable.name, KindJobDetails) + ` AS want_details,
			` + missing(tests, jobTestsTable.name, KindJobTests) + ` AS want_tests,
			CASE WHEN EXISTS (` + entry(KindJobDetails) + `) OR EXISTS (` + entry(KindJobTests) + `)
				THEN 1 ELSE 0 END AS retried
		FROM circleci_jobs j
		WHERE j.project_slug = $1 AND j.job_number IS NOT NULL AND j.job_number > $2
			AND j.type = 'build' AND j.status IN ` + terminalJobSQL + `
		GROUP BY j.job_number) p
		WHERE want_details = 1 OR want_tests = 1
		ORDER BY job_number LIMIT $3`
	rows, err := q.db.query(ctx, query, projectSlug, after, int64(limit), retry.Reason, sinceArg(retry.Before),
		sinceArg(retry.Since))
	if err != nil {
		return nil, fmt.Errorf("store: pending jobs of %s: %w", projectSlug, err)
	}
	defer rows.Close()
	var out []PendingJob
	for rows.Next() {
		var p PendingJob
		var d, t, r int64
		if err := rows.Scan(&p.Number, &p.ID, &p.Name, &d, &t, &r); err != nil {
			return nil, fmt.Errorf("store: pending jobs of %s: %w", projectSlug, err)
		}
		p.Details, p.Tests, p.Retried = d == 1, t == 1, r == 1
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: pending jobs of %s: %w", projectSlug, err)
	}
	return out, nil
}
