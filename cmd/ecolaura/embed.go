package main

// The binary carries what a container's base image would otherwise have to
// provide, so that the image can be built FROM scratch: the IANA time-zone
// database (used when /usr/share/zoneinfo is missing) and Mozilla's CA
// certificates (used when the system has none, for outgoing TLS to SMTP,
// payment providers and managed PostgreSQL or Redis).
import (
	_ "time/tzdata"

	_ "golang.org/x/crypto/x509roots/fallback"
)
