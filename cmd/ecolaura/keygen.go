package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/ecolaura/ecolaura/adapters/jwt"
)

const keygenUsage = `Usage: ecolaura keygen [--force | --if-missing] FILE

Writes a new Ed25519 signing key for access tokens to FILE, as PEM
(PKCS#8 "PRIVATE KEY") with mode 0600: the file ECOLAURA_JWT_KEY_FILE names.
Every replica must load the same key. FILE "-" writes the key to standard
output. An existing FILE is left alone and the command fails, unless
--force replaces it (atomically; tokens signed with the old key stop
working) or --if-missing accepts it when it holds a valid signing key (for
one-shot containers that run at every start).

Flags:
`

// keygenCmd implements `ecolaura keygen`. Exit codes: 0 written (or kept
// with --if-missing), 1 the file could not be written or an existing one is
// not a valid key, 2 usage error.
func keygenCmd(args []string, stdout, stderr io.Writer) int {
	flags := newFlagSet("keygen", keygenUsage, stderr)
	force := flags.Bool("force", false, "replace an existing FILE")
	ifMissing := flags.Bool("if-missing", false, "keep an existing FILE that holds a valid signing key, and exit 0")
	if err := flags.Parse(args); err != nil {
		return helpCode(err)
	}
	if flags.NArg() != 1 || (*force && *ifMissing) {
		fmt.Fprint(stderr, "ecolaura keygen: want exactly one FILE, and at most one of --force and --if-missing\n\n")
		flags.Usage()
		return 2
	}
	path := flags.Arg(0)
	pemBytes, kid, err := newSigningKeyPEM()
	if err != nil {
		fmt.Fprintf(stderr, "ecolaura keygen: %v\n", err)
		return 1
	}
	if path == "-" {
		_, err := stdout.Write(pemBytes)
		if err != nil {
			fmt.Fprintf(stderr, "ecolaura keygen: %v\n", err)
			return 1
		}
		return 0
	}
	switch err := writeKeyFile(path, pemBytes, *force); {
	case errors.Is(err, fs.ErrExist) && *ifMissing:
		k, lerr := jwt.LoadSigningKeyFile(path)
		if lerr != nil {
			fmt.Fprintf(stderr, "ecolaura keygen: %s exists but is not a usable signing key: %v\n", path, lerr)
			return 1
		}
		fmt.Fprintf(stdout, "kept the existing signing key %s (kid %s)\n", path, k.ID())
		return 0
	case errors.Is(err, fs.ErrExist):
		fmt.Fprintf(stderr, "ecolaura keygen: %s already exists; use --force to replace it (tokens signed with it stop working) or --if-missing to keep it\n", path)
		return 1
	case err != nil:
		fmt.Fprintf(stderr, "ecolaura keygen: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "wrote a new Ed25519 signing key to %s (kid %s); set ECOLAURA_JWT_KEY_FILE=%s\n", path, kid, path)
	return 0
}

// newSigningKeyPEM generates an Ed25519 key and returns it as PKCS#8 PEM
// with its key ID (the JWK thumbprint the server publishes in its JWKS).
func newSigningKeyPEM() ([]byte, string, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, "", fmt.Errorf("generate Ed25519 key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, "", fmt.Errorf("encode key: %w", err)
	}
	kid, err := jwt.Thumbprint(pub)
	if err != nil {
		return nil, "", err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), kid, nil
}

// writeKeyFile writes data to path with mode 0600. Without replace it fails
// with an error matching fs.ErrExist when path exists; with replace it
// writes a temporary file in the same directory and renames it over path,
// so a reader never sees half a key.
func writeKeyFile(path string, data []byte, replace bool) error {
	if !replace {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return err
		}
		return finishKeyFile(f, data, path)
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".ecolaura-key-*")
	if err != nil {
		return err
	}
	if err := finishKeyFile(f, data, f.Name()); err != nil {
		_ = os.Remove(f.Name())
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		_ = os.Remove(f.Name())
		return err
	}
	return nil
}

// finishKeyFile writes data to f, makes it 0600 (whatever the umask and
// CreateTemp did), syncs and closes it; on failure it removes name.
func finishKeyFile(f *os.File, data []byte, name string) error {
	err := f.Chmod(0o600)
	if err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(name)
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}
