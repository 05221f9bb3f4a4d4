package porttest

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
)

// PNG returns a valid PNG image of w×h pixels (a gradient, so different
// sizes give different bytes).
func PNG(w, h int) []byte {
	var buf bytes.Buffer
	if err := png.Encode(&buf, gradient(w, h)); err != nil {
		panic(err) // encoding to memory cannot fail
	}
	return buf.Bytes()
}

// JPEG returns a valid baseline JPEG image of w×h pixels.
func JPEG(w, h int) []byte {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, gradient(w, h), &jpeg.Options{Quality: 80}); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

func gradient(w, h int) image.Image {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.NRGBA{R: uint8(x * 255 / max(w, 1)), G: uint8(y * 255 / max(h, 1)), B: uint8((x + y) % 256), A: 255})
		}
	}
	return img
}

// WebP returns a valid lossless WebP image of 1×1 pixel (the standard
// library has no WebP encoder; these 34 bytes decode with
// golang.org/x/image/webp).
func WebP() []byte {
	return []byte("RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00\x2f\x00\x00\x00\x10\x07\x10\x11\x11\x88\x88\xfe\x07\x00")
}

// PNGBomb returns the start of a PNG whose header claims w×h pixels (a
// decompression bomb's dimensions: 100000×100000 would decode to 40 GB),
// with a valid IHDR chunk and a little image data.
func PNGBomb(w, h uint32) []byte {
	var buf bytes.Buffer
	buf.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 2 // 8-bit RGB
	pngChunk(&buf, "IHDR", ihdr)
	pngChunk(&buf, "IDAT", []byte{0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01})
	pngChunk(&buf, "IEND", nil)
	return buf.Bytes()
}

func pngChunk(buf *bytes.Buffer, typ string, data []byte) {
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(data)))
	buf.Write(n[:])
	crc := crc32.NewIEEE()
	crc.Write([]byte(typ))
	crc.Write(data)
	buf.WriteString(typ)
	buf.Write(data)
	binary.BigEndian.PutUint32(n[:], crc.Sum32())
	buf.Write(n[:])
}

// WebPBomb returns an extended-format (VP8X) WebP whose canvas claims w×h
// pixels (up to 2^24 a side).
func WebPBomb(w, h uint32) []byte {
	var vp8x [10]byte
	put24 := func(b []byte, v uint32) { b[0], b[1], b[2] = byte(v), byte(v>>8), byte(v>>16) }
	put24(vp8x[4:], w-1)
	put24(vp8x[7:], h-1)
	var body bytes.Buffer
	body.WriteString("WEBP")
	body.WriteString("VP8X")
	_ = binary.Write(&body, binary.LittleEndian, uint32(len(vp8x)))
	body.Write(vp8x[:])
	lossless := WebP()[12:] // the VP8L chunk of the 1×1 image
	body.Write(lossless)
	var out bytes.Buffer
	out.WriteString("RIFF")
	_ = binary.Write(&out, binary.LittleEndian, uint32(body.Len()))
	out.Write(body.Bytes())
	return out.Bytes()
}

// JPEGBomb returns a JPEG whose frame header claims w×h pixels (at most
// 65535 a side, JPEG's limit): a real w0×h0 JPEG with its dimensions
// rewritten.
func JPEGBomb(w, h uint16) []byte {
	b := JPEG(8, 8)
	for i := 2; i+9 < len(b); {
		if b[i] != 0xFF {
			break
		}
		marker := b[i+1]
		size := int(binary.BigEndian.Uint16(b[i+2:]))
		if marker == 0xC0 { // SOF0: length, precision, height, width
			binary.BigEndian.PutUint16(b[i+5:], h)
			binary.BigEndian.PutUint16(b[i+7:], w)
			return b
		}
		i += 2 + size
	}
	panic("porttest: no SOF0 marker in the encoded JPEG")
}
