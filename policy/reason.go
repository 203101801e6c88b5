package policy

// UncoveredReason says in a few words why the declared path is a finding,
// for the lines of text reports: no mount of the container covers it, or no
// mount can, and on which platforms when not all declare it.
func (f Finding) UncoveredReason() string {
	s := "no volumeMount of this container covers it"
	if f.Relative {
		s = "a relative path, no volumeMount can cover it"
	}
	if len(f.Platforms) > 0 {
		s += " (declared on " + f.PlatformNames() + ")"
	}
	return s
}
