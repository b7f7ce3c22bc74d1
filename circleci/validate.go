package circleci

import "errors"

// The store keys every entity on its id, so an item without one cannot be stored:
// decoding rejects it (ClassDecode) rather than hand on an entity with an empty key.
// Everything else is decoded leniently (see the package documentation).

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
