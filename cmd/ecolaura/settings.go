package main

import (
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// settings registers typed settings on a flag set: each is read from its
// ECOLAURA_* variable, then from its flag (the flag wins), and a bad value
// from either is reported after parsing with every other problem, naming
// the variable and the flag. The flags are typed in --help ("-job-timeout
// duration") and show their defaults, the environment's value when set.
//
// Why not a configuration library: the ones looked at (ff, kong, envconfig,
// go-envconfig, caarlos0/env) parse typed flags and variables, but none
// reports unknown variables with a suggestion, accepts on/off switches,
// masks URL passwords in --help, or gathers every problem into one
// report naming both spellings; each would have needed these additions on
// top, and the loaders' messages and tests would have been rewritten for
// nothing. This file is the small typed layer the standard flag package
// lacked.
type settings struct {
	fs   *flag.FlagSet
	env  getenv
	errs []func() error
}

func newSettings(fs *flag.FlagSet, env getenv) *settings { return &settings{fs: fs, env: env} }

// problems appends the problems found so far to errs.
func (s *settings) problems(errs *[]error) {
	for _, e := range s.errs {
		if err := e(); err != nil {
			*errs = append(*errs, err)
		}
	}
}

// typedSetting is a flag.Value over a parsed value.
type typedSetting[T any] struct {
	name  string // the variable / --flag
	value T
	parse func(string) (T, error)
	show  func(T) string
	err   error
}

func (v *typedSetting[T]) set(s string) {
	x, err := v.parse(strings.TrimSpace(s))
	if err != nil {
		v.err = fmt.Errorf("%s: %w", v.name, err)
		return
	}
	v.value, v.err = x, nil
}

// Set implements flag.Value; a bad value is reported after parsing.
func (v *typedSetting[T]) Set(s string) error {
	v.set(s)
	return nil
}

func (v *typedSetting[T]) String() string {
	if v == nil || v.show == nil {
		return ""
	}
	return v.show(v.value)
}

func settingName(variable, flagName string) string {
	if flagName == "" {
		return variable
	}
	return variable + " / --" + flagName
}

// register reads variable, then registers the flag (none when flagName is
// empty).
func register[T any](s *settings, variable, flagName, usage string, v *typedSetting[T]) *typedSetting[T] {
	v.name = settingName(variable, flagName)
	if raw := s.env(variable); raw != "" {
		v.set(raw)
	}
	if flagName != "" {
		s.fs.Var(v, flagName, usage)
	}
	s.errs = append(s.errs, func() error { return v.err })
	return v
}

// Duration registers a duration setting between lo and hi (hi 0: no
// bound). The usage should say "`duration`" where the type goes.
func (s *settings) Duration(variable, flagName string, def, lo, hi time.Duration, example, usage string) *time.Duration {
	v := &typedSetting[time.Duration]{value: def, show: func(d time.Duration) string { return d.String() }}
	v.parse = func(raw string) (time.Duration, error) {
		d, err := time.ParseDuration(raw)
		switch {
		case err != nil && raw == "0":
			d, err = 0, nil
		case err != nil:
			return 0, fmt.Errorf("want a duration like %s, got %q", example, raw)
		}
		if d < lo || (hi > 0 && d > hi) {
			if hi > 0 {
				return 0, fmt.Errorf("want a duration from %s to %s like %s, got %q", lo, hi, example, raw)
			}
			return 0, fmt.Errorf("want a duration of at least %s like %s, got %q", lo, example, raw)
		}
		return d, nil
	}
	return &register(s, variable, flagName, usage, v).value
}

// Int registers an integer setting from lo to hi. The usage should say
// "`n`" where the type goes.
func (s *settings) Int(variable, flagName string, def, lo, hi int, usage string) *int {
	v := &typedSetting[int]{value: def, show: strconv.Itoa}
	v.parse = func(raw string) (int, error) {
		n, err := strconv.Atoi(raw)
		if err != nil || n < lo || n > hi {
			return 0, fmt.Errorf("want %d to %d, got %q", lo, hi, raw)
		}
		return n, nil
	}
	return &register(s, variable, flagName, usage, v).value
}

// Switch registers a boolean setting: 1/0, true/false or on/off, in any
// case; --flag alone means true.
func (s *settings) Switch(variable, flagName string, def bool, usage string) *bool {
	b := &boolSetting{name: settingName(variable, flagName), value: def}
	b.set(s.env(variable))
	if flagName != "" {
		s.fs.Var(b, flagName, usage)
	}
	s.errs = append(s.errs, func() error { return b.err })
	return &b.value
}

// OffSwitch registers a setting that is on unless its variable says off
// (ECOLAURA_RATE_LIMITS=off), with a --no-… flag that turns it off. It
// returns whether it is off.
func (s *settings) OffSwitch(variable, flagName string, usage string) *bool {
	on := true
	if raw := s.env(variable); raw != "" {
		v, err := parseSwitch(raw)
		if err != nil {
			s.errs = append(s.errs, func() error { return fmt.Errorf("%s: %w", variable, err) })
		} else {
			on = v
		}
	}
	b := &boolSetting{name: "--" + flagName, value: !on}
	s.fs.Var(b, flagName, usage)
	s.errs = append(s.errs, func() error { return b.err })
	return &b.value
}
