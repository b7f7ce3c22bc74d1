package circleci

import "errors"

// The store keys entities on their ids, so decoding rejects an item without one
// (ClassDecode); everything else decodes leniently.

func (p *Pipeline) validate() error {
	if p.ID == "" {
		return errors.New("pipeline has no id")
	}
	return nil
}

func (w *Workflow) validate() error {
	if w.ID == "" {
		return errors.New("workflow has no id")
	}
	return nil
}

func (j *Job) validate() error {
	if j.ID == "" {
		return errors.New("job has no id")
	}
	return nil
}

func (u *User) validate() error {
	if u.ID == "" {
		return errors.New("user has no id")
	}
	return nil
}

func (p *Project) validate() error {
	if p.ID == "" {
		return errors.New("project has no id")
	}
	return nil
}
