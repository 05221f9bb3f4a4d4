// Package media is the default media store (ports.MediaStore): image files
// in one directory, each named by its content address — the SHA-256 of its
// bytes in hexadecimal and the extension of its detected type
// ("3f7a…e1.webp") — never by a name a client chose. The reference server
// serves the directory under /media/, and nginx can serve the same
// directory (deploy/nginx/ecolaura.conf).
//
// Put checks a file by its content: a JPEG, PNG or WebP image (the type is
// detected with image.DecodeConfig and the decoders of the standard library
// and golang.org/x/image/webp, never taken from a name or a claimed type),
// complete (the PNG chunks up to IEND with their CRCs, the JPEG's end
// marker, the WebP's RIFF length), at most ecolaura.MaxImageBytes bytes and
// ecolaura.MaxImageSide pixels a side. The size is checked while the stream
// is read (one byte past the limit ends the read) and the dimensions from
// the header, before any pixel is decoded, so neither a huge upload nor a
// decompression bomb costs more than the limit. A file is written to a
// temporary file in the directory, synced, and renamed to its key: readers
// never see a partial file, and a refused or failed upload leaves nothing.
//
// Several processes may share the directory (replicas on one volume): a
// rename is atomic, and writing the same bytes twice yields the same file.
// The cleanup's protection of a file just written again (see Delete) holds
// within one process; across processes it rests on the grace period.
package media

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	_ "image/jpeg" // registers the JPEG decoder with image.DecodeConfig
	_ "image/png"  // registers the PNG decoder
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	_ "golang.org/x/image/webp" // registers the WebP decoder

	"github.com/ecolaura/ecolaura/ecolaura"
	"github.com/ecolaura/ecolaura/ports"
)

// tempPrefix starts the names of files being written; List ignores them.
const tempPrefix = ".upload-"

// staleTemp is the age after which a temporary file (left by a crash) is
// removed when a Store is opened.
const staleTemp = time.Hour

// Store is the directory media store. It is safe for concurrent use.
type Store struct {
	dir string
	// mu orders the final step of Put (rename or touch) with Delete's
	// check-and-remove, so a file written again is never removed by a
	// cleanup that saw it old.
	mu sync.Mutex
}

var _ ports.MediaStore = (*Store)(nil)

// Open returns the store over dir, creating the directory (mode 0755) when
// it does not exist, and removes temporary files older than an hour that a
// crash may have left. Errors: *ecolaura.ConfigError for an empty dir; the
// directory cannot be created or written.
func Open(dir string) (*Store, error) {
	if strings.TrimSpace(dir) == "" {
		return nil, ecolaura.Misconfigured("media_dir", "is required")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("media: %w", err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, fmt.Errorf("media: create directory: %w", err)
	}
	f, err := os.CreateTemp(abs, tempPrefix+"probe-*")
	if err != nil {
		return nil, fmt.Errorf("media: directory %s is not writable: %w", abs, err)
	}
	_ = f.Close()
	_ = os.Remove(f.Name())
	s := &Store{dir: abs}
	s.removeStaleTemp(time.Now().Add(-staleTemp))
	return s, nil
}

// Dir returns the directory (absolute).
func (s *Store) Dir() string { return s.dir }

func (s *Store) removeStaleTemp(before time.Time) {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), tempPrefix) {
			continue
		}
		if info, err := e.Info(); err == nil && info.ModTime().Before(before) {
			_ = os.Remove(filepath.Join(s.dir, e.Name()))
		}
	}
}

// invalidFile is the error of a refused upload.
func invalidFile(format string, args ...any) error { return ecolaura.Invalid("file", format, args...) }

// Put reads the image from r (at most ecolaura.MaxImageBytes+1 bytes),
// checks it and stores it under its content address; see the package
// documentation. Storing bytes that are there already keeps the one file
// and sets its modification time to now. Errors: *ecolaura.ValidationError
// (ErrInvalid) on "file"; r's errors; ctx's error; file system errors.
func (s *Store) Put(ctx context.Context, r io.Reader) (ecolaura.MediaBlob, error) {
	if err := ctx.Err(); err != nil {
		return ecolaura.MediaBlob{}, err
	}
	tmp, err := os.CreateTemp(s.dir, tempPrefix+"*")
	if err != nil {
		return ecolaura.MediaBlob{}, fmt.Errorf("media: %w", err)
	}
	done := false
	defer func() {
		if !done {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), io.LimitReader(ctxReader{ctx, r}, ecolaura.MaxImageBytes+1))
	if err != nil {
		return ecolaura.MediaBlob{}, fmt.Errorf("media: read upload: %w", err)
	}
	switch {
	case n == 0:
		return ecolaura.MediaBlob{}, invalidFile("is empty")
	case n > ecolaura.MaxImageBytes:
		return ecolaura.MediaBlob{}, invalidFile("must be at most %d bytes (10 MiB)", ecolaura.MaxImageBytes)
	}
	blob, err := inspect(tmp, n)
	if err != nil {
		return ecolaura.MediaBlob{}, err
	}
	ext, _ := ecolaura.MediaExtension(blob.ContentType)
	blob.Key = hex.EncodeToString(h.Sum(nil)) + "." + ext
	if err := tmp.Sync(); err != nil {
		return ecolaura.MediaBlob{}, fmt.Errorf("media: %w", err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		return ecolaura.MediaBlob{}, fmt.Errorf("media: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return ecolaura.MediaBlob{}, fmt.Errorf("media: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return ecolaura.MediaBlob{}, err
	}
	final := filepath.Join(s.dir, blob.Key)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := os.Stat(final); err == nil {
		// The same bytes are stored: keep that file, and count this as a
		// new write of it so that the cleanup's grace period starts again.
		now := time.Now()
		if err := os.Chtimes(final, now, now); err != nil {
			return ecolaura.MediaBlob{}, fmt.Errorf("media: %w", err)
		}
		_ = os.Remove(tmp.Name())
		done = true
		return blob, nil
	}
	if err := os.Rename(tmp.Name(), final); err != nil {
		return ecolaura.MediaBlob{}, fmt.Errorf("media: %w", err)
	}
	done = true
	syncDir(s.dir)
	return blob, nil
}

// syncDir makes a rename in dir durable (best effort).
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}

// ctxReader stops reading when ctx ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// formats maps image.DecodeConfig's format names to content types.
var formats = map[string]string{"jpeg": ecolaura.ImageJPEG, "png": ecolaura.ImagePNG, "webp": ecolaura.ImageWebP}

// inspect checks the n bytes of f: type, dimensions (from the header) and
// completeness.
func inspect(f *os.File, n int64) (ecolaura.MediaBlob, error) {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return ecolaura.MediaBlob{}, fmt.Errorf("media: %w", err)
	}
	cfg, format, err := image.DecodeConfig(bufio.NewReader(io.LimitReader(f, n)))
	ct, known := formats[format]
	if errors.Is(err, image.ErrFormat) || (err == nil && !known) {
		return ecolaura.MediaBlob{}, invalidFile("must be a JPEG, PNG or WebP image (detected from its content)")
	}
	if err != nil {
		return ecolaura.MediaBlob{}, invalidFile("is not a valid image: %v", err)
	}
	if cfg.Width < 1 || cfg.Height < 1 || cfg.Width > ecolaura.MaxImageSide || cfg.Height > ecolaura.MaxImageSide {
		return ecolaura.MediaBlob{}, invalidFile("must be at most %d×%d pixels (it is %d×%d)", ecolaura.MaxImageSide, ecolaura.MaxImageSide, cfg.Width, cfg.Height)
	}
	if err := complete(f, n, ct); err != nil {
		return ecolaura.MediaBlob{}, err
	}
	return ecolaura.MediaBlob{ContentType: ct, Width: cfg.Width, Height: cfg.Height, Bytes: n}, nil
}

// complete checks that the file is not truncated: a PNG's chunks (with
// their CRCs) up to IEND and nothing after it, a JPEG's end-of-image marker, a WebP's RIFF
// length. It reads the file once, in a bounded buffer.
func complete(f *os.File, n int64, contentType string) error {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("media: %w", err)
	}
	r := bufio.NewReader(io.LimitReader(f, n))
	truncated := invalidFile("is truncated or corrupt")
	switch contentType {
	case ecolaura.ImagePNG:
		if _, err := r.Discard(8); err != nil {
			return truncated
		}
		var head [8]byte
		for {
			if _, err := io.ReadFull(r, head[:]); err != nil {
				return truncated
			}
			length := binary.BigEndian.Uint32(head[:4])
			if int64(length) > n {
				return truncated
			}
			crc := crc32.NewIEEE()
			crc.Write(head[4:])
			if _, err := io.CopyN(crc, r, int64(length)); err != nil {
				return truncated
			}
			var sum [4]byte
			if _, err := io.ReadFull(r, sum[:]); err != nil || binary.BigEndian.Uint32(sum[:]) != crc.Sum32() {
				return truncated
			}
			if string(head[4:]) == "IEND" {
				// Nothing may follow: bytes after IEND are no part of the
				// image and would make the file a polyglot (a PNG that is
				// also an HTML page or an archive) served from the shop's
				// origin, possibly by nginx without the API's headers.
				if _, err := r.ReadByte(); !errors.Is(err, io.EOF) {
					return invalidFile("has data after the end of the image")
				}
				return nil
			}
		}
	case ecolaura.ImageJPEG:
		tail := make([]byte, min(n, 64))
		if _, err := f.ReadAt(tail, n-int64(len(tail))); err != nil {
			return fmt.Errorf("media: %w", err)
		}
		// Some encoders pad the end; the end-of-image marker must be there.
		tail = bytes.TrimRight(tail, "\x00")
		if !bytes.HasSuffix(tail, []byte{0xFF, 0xD9}) {
			return truncated
		}
		return nil
	case ecolaura.ImageWebP:
		var head [12]byte
		if _, err := io.ReadFull(r, head[:]); err != nil {
			return truncated
		}
		size := int64(binary.LittleEndian.Uint32(head[4:8]))
		if size+8 != n && size+8+1 != n { // an odd RIFF payload may carry its pad byte
			return truncated
		}
		return nil
	}
	return truncated
}

// Open returns the file's content and size. Errors: ErrNotFound (also for
// a key that is not a media key, so no path is ever built from one).
func (s *Store) Open(ctx context.Context, key string) (io.ReadCloser, int64, error) {
	if !ecolaura.ValidMediaKey(key) {
		return nil, 0, fmt.Errorf("media %q: %w", key, ecolaura.ErrNotFound)
	}
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	f, err := os.Open(filepath.Join(s.dir, key))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, fmt.Errorf("media %s: %w", key, ecolaura.ErrNotFound)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("media: %w", err)
	}
	info, err := f.Stat()
	if err != nil || !info.Mode().IsRegular() {
		_ = f.Close()
		return nil, 0, fmt.Errorf("media %s: %w", key, ecolaura.ErrNotFound)
	}
	return f, info.Size(), nil
}

// List returns the keys of the files last written before before (other
// files in the directory are ignored).
func (s *Store) List(ctx context.Context, before time.Time) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("media: list: %w", err)
	}
	keys := []string{}
	for _, e := range entries {
		if !ecolaura.ValidMediaKey(e.Name()) || !e.Type().IsRegular() {
			continue
		}
		if info, err := e.Info(); err == nil && info.ModTime().Before(before) {
			keys = append(keys, e.Name())
		}
	}
	return keys, nil
}

// Delete removes the file when it was last written before before. Errors:
// file system errors.
func (s *Store) Delete(ctx context.Context, key string, before time.Time) (bool, error) {
	if !ecolaura.ValidMediaKey(key) {
		return false, nil
	}
	if err := ctx.Err(); err != nil {
		return false, err
	}
	path := filepath.Join(s.dir, key)
	s.mu.Lock()
	defer s.mu.Unlock()
	info, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("media: %w", err)
	}
	if !info.ModTime().Before(before) {
		return false, nil
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, fmt.Errorf("media: %w", err)
	}
	return true, nil
}
