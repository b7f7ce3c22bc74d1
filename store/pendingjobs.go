package store

import (
	"context"
	"fmt"
	"strconv"
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
	// Details and Tests say which are still to read.
	Details, Tests bool
}

// PendingJobs returns up to limit of the project's terminal build jobs numbered
// above after, in number order, whose details (when details) or tests (when tests)
// were never read: no row in circleci_job_details (circleci_job_tests, the tests
// ledger) and no entry of KindJobDetails (KindJobTests) in the skipped ledger.
func (q *queries) PendingJobs(ctx context.Context, projectSlug string, after int64, limit int,
	details, tests bool) ([]PendingJob, error) {
	if !details && !tests {
		return nil, nil
	}
	missing := func(on bool, table, kind string) string {
		if !on {
			return "0"
		}
		return fmt.Sprintf(`CASE WHEN NOT EXISTS (SELECT 1 FROM %s x WHERE x.project_slug = $1 AND x.job_number = j.job_number)
			AND NOT EXISTS (SELECT 1 FROM circleci_skipped s WHERE s.kind = '%s'
				AND s.id = $1 || '/' || CAST(j.job_number AS TEXT)) THEN 1 ELSE 0 END`, table, kind)
	}
	query := `SELECT job_number, id, name, want_details, want_tests FROM (
		SELECT j.job_number, MIN(j.id) AS id, MIN(j.name) AS name,
			` + missing(details, jobDetailsTable.name, KindJobDetails) + ` AS want_details,
			` + missing(tests, jobTestsTable.name, KindJobTests) + ` AS want_tests
		FROM circleci_jobs j
		WHERE j.project_slug = $1 AND j.job_number IS NOT NULL AND j.job_number > $2
			AND j.type = 'build' AND j.status IN ` + terminalJobSQL + `
		GROUP BY j.job_number) p
		WHERE want_details = 1 OR want_tests = 1
		ORDER BY job_number LIMIT $3`
	rows, err := q.db.query(ctx, query, projectSlug, after, int64(limit))
	if err != nil {
		return nil, fmt.Errorf("store: pending jobs of %s: %w", projectSlug, err)
	}
	defer rows.Close()
	var out []PendingJob
	for rows.Next() {
		var p PendingJob
		var d, t int64
		if err := rows.Scan(&p.Number, &p.ID, &p.Name, &d, &t); err != nil {
			return nil, fmt.Errorf("store: pending jobs of %s: %w", projectSlug, err)
		}
		p.Details, p.Tests = d == 1, t == 1
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: pending jobs of %s: %w", projectSlug, err)
	}
	return out, nil
}
