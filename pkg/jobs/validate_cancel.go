package jobs

// checkCancel checks what only a cancel job has (issue 16). A cancel runs at once: it never
// carries a not_before (it would itself wait in the scheduled stream, where it could be
// canceled). It is never a dry run: it changes nothing in Genesys, only this system's queue, and
// `genesysctl scheduled list --user` shows what it would cancel without a job.
func (p *problems) checkCancel(j Job) {
	if !j.NotBefore.IsZero() {
		p.add("not_before", "a cancel job runs at once, never at a time of its own")
	}
	if j.DryRun {
		p.add("dry_run", "a cancel job is never a dry run (genesysctl scheduled list --user shows what it would cancel)")
	}
}

// checkVerify checks what only a verify job has (issue 17): it reads the user back now, so it
// never carries a not_before, and it changes nothing, so a dry run of it means nothing.
func (p *problems) checkVerify(j Job) {
	if !j.NotBefore.IsZero() {
		p.add("not_before", "a verify job reads the user back now, never at a time of its own")
	}
	if j.DryRun {
		p.add("dry_run", "a verify job changes nothing: it is never a dry run")
	}
}
