package redisadapter

// Conversions between the three forms a value takes on its way through the
// cluster: the root package's JSON with binary placeholders
// ({"_placeholder":true,"num":N} plus attachments), MessagePack as
// notepack.io writes it (binary inline as bin), and the JSON that Node's
// JSON.stringify writes (binary as {"type":"Buffer","data":[...]}).
// Everything goes through value, a tree that keeps the order of object
// keys: clients compare payloads as text, and Node keeps key order end to
// end.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"
)

type kind uint8

const (
	kNull      kind = iota
	kUndefined      // JS undefined: left out of objects, null in arrays
	kBool
	kNumber // num holds a JSON number literal
	kString
	kBinary
	kArray
	kObject
)

type value struct {
	kind kind
	b    bool
	num  string
	str  string // string, or binary bytes
	arr  []value
	keys []string // object keys, in order; vals[i] goes with keys[i]
	vals []value
}

// maxDepth bounds nesting, as the root parser does for JSON.
const maxDepth = 100

var errTooDeep = errors.New("redisadapter: value nested too deeply")

func str(s string) value { return value{kind: kString, str: s} }

// get returns the value of key in an object, and whether it is there.
func (v *value) get(key string) (*value, bool) {
	for i, k := range v.keys {
		if k == key {
			return &v.vals[i], true
		}
	}
	return nil, false
}

// asString returns a string, or a number as its literal (a numeric room).
func (v *value) asString() (string, bool) {
	switch v.kind {
	case kString:
		return v.str, true
	case kNumber:
		return v.num, true
	}
	return "", false
}

// asInt returns an integral number.
func (v *value) asInt() (int64, bool) {
	if v.kind != kNumber {
		return 0, false
	}
	if n, err := strconv.ParseInt(v.num, 10, 64); err == nil {
		return n, true
	}
	f, err := strconv.ParseFloat(v.num, 64)
	if err != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return 0, false
	}
	return int64(f), true
}

func (v *value) strings() []string {
	if v == nil || v.kind != kArray {
		return nil
	}
	out := make([]string, 0, len(v.arr))
	for i := range v.arr {
		if s, ok := v.arr[i].asString(); ok {
			out = append(out, s)
		}
	}
	return out
}

// ---------------------------------------------------------------------------
// JSON in

// parseJSON reads one JSON value. Placeholders referring to atts become
// binary; with buffers, so do objects shaped as JSON.stringify writes a
// Node Buffer ({"type":"Buffer","data":[bytes]}).
func parseJSON(data []byte, atts [][]byte, buffers bool) (value, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	p := jsonParser{dec: dec, atts: atts, buffers: buffers}
	v, err := p.value(0)
	if err != nil {
		return value{}, err
	}
	if _, err := dec.Token(); err == nil {
		return value{}, errors.New("redisadapter: trailing data after JSON value")
	}
	return v, nil
}

type jsonParser struct {
	dec     *json.Decoder
	atts    [][]byte
	buffers bool
}

func (p *jsonParser) value(depth int) (value, error) {
	tok, err := p.dec.Token()
	if err != nil {
		return value{}, err
	}
	switch t := tok.(type) {
	case nil:
		return value{}, nil
	case bool:
		return value{kind: kBool, b: t}, nil
	case json.Number:
		return value{kind: kNumber, num: string(t)}, nil
	case string:
		return str(t), nil
	case json.Delim:
		if depth >= maxDepth {
			return value{}, errTooDeep
		}
		if t == '[' {
			v := value{kind: kArray, arr: []value{}}
			for p.dec.More() {
				e, err := p.value(depth + 1)
				if err != nil {
					return value{}, err
				}
				v.arr = append(v.arr, e)
			}
			_, err := p.dec.Token()
			return v, err
		}
		v := value{kind: kObject}
		for p.dec.More() {
			k, err := p.dec.Token()
			if err != nil {
				return value{}, err
			}
			e, err := p.value(depth + 1)
			if err != nil {
				return value{}, err
			}
			v.keys = append(v.keys, k.(string))
			v.vals = append(v.vals, e)
		}
		if _, err := p.dec.Token(); err != nil {
			return value{}, err
		}
		if b, ok := p.binary(&v); ok {
			return value{kind: kBinary, str: b}, nil
		}
		return v, nil
	}
	return value{}, fmt.Errorf("redisadapter: unexpected JSON token %v", tok)
}

// binary recognises a placeholder, or a stringified Buffer.
func (p *jsonParser) binary(v *value) (string, bool) {
	if len(v.keys) != 2 {
		return "", false
	}
	if ph, ok := v.get("_placeholder"); ok && ph.kind == kBool && ph.b {
		num, ok := v.get("num")
		if !ok {
			return "", false
		}
		n, ok := num.asInt()
		if !ok || n < 0 || n >= int64(len(p.atts)) {
			return "", false
		}
		return string(p.atts[n]), true
	}
	if !p.buffers {
		return "", false
	}
	typ, ok := v.get("type")
	if !ok || typ.kind != kString || typ.str != "Buffer" {
		return "", false
	}
	data, ok := v.get("data")
	if !ok || data.kind != kArray {
		return "", false
	}
	b := make([]byte, len(data.arr))
	for i := range data.arr {
		n, ok := data.arr[i].asInt()
		if !ok || n < 0 || n > 255 {
			return "", false
		}
		b[i] = byte(n)
	}
	return string(b), true
}

// ---------------------------------------------------------------------------
// JSON out

// appendJSON appends v as JSON. Binary becomes a placeholder whose
// attachment is appended to *atts, or, when atts is nil, a stringified
// Buffer as JSON.stringify writes it.
func (v *value) appendJSON(dst []byte, atts *[][]byte) []byte {
	switch v.kind {
	case kNull, kUndefined:
		return append(dst, "null"...)
	case kBool:
		return strconv.AppendBool(dst, v.b)
	case kNumber:
		return append(dst, v.num...)
	case kString:
		return appendJSONString(dst, v.str)
	case kBinary:
		if atts == nil {
			dst = append(dst, `{"type":"Buffer","data":[`...)
			for i := 0; i < len(v.str); i++ {
				if i > 0 {
					dst = append(dst, ',')
				}
				dst = strconv.AppendUint(dst, uint64(v.str[i]), 10)
			}
			return append(dst, "]}"...)
		}
		dst = append(dst, `{"_placeholder":true,"num":`...)
		dst = strconv.AppendInt(dst, int64(len(*atts)), 10)
		*atts = append(*atts, []byte(v.str))
		return append(dst, '}')
	case kArray:
		dst = append(dst, '[')
		for i := range v.arr {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = v.arr[i].appendJSON(dst, atts)
		}
		return append(dst, ']')
	case kObject:
		dst = append(dst, '{')
		first := true
		for i, k := range v.keys {
			if v.vals[i].kind == kUndefined {
				continue
			}
			if !first {
				dst = append(dst, ',')
			}
			first = false
			dst = appendJSONString(dst, k)
			dst = append(dst, ':')
			dst = v.vals[i].appendJSON(dst, atts)
		}
		return append(dst, '}')
	}
	return append(dst, "null"...)
}

// appendJSONString quotes s as JSON.stringify does (no HTML escaping);
// invalid UTF-8 becomes U+FFFD.
func appendJSONString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				dst = append(dst, '\\', c)
			case c >= 0x20:
				dst = append(dst, c)
			case c == '\n':
				dst = append(dst, '\\', 'n')
			case c == '\r':
				dst = append(dst, '\\', 'r')
			case c == '\t':
				dst = append(dst, '\\', 't')
			case c == '\b':
				dst = append(dst, '\\', 'b')
			case c == '\f':
				dst = append(dst, '\\', 'f')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, `\ufffd`...)
		} else {
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return append(dst, '"')
}

// appendNumber formats f as JavaScript does; NaN and infinities, which
// JSON cannot hold, become null as with JSON.stringify.
func appendNumber(dst []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(dst, "null"...)
	}
	if f == 0 {
		return append(dst, '0') // -0 too
	}
	abs := math.Abs(f)
	fmtc := byte('f')
	if abs < 1e-6 || abs >= 1e21 {
		fmtc = 'e'
	}
	dst = strconv.AppendFloat(dst, f, fmtc, -1, 64)
	if fmtc == 'e' { // e-07 -> e-7, as JavaScript writes it
		n := len(dst)
		if n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst
}

// ---------------------------------------------------------------------------
// MessagePack out

// encode writes v as notepack.io would write the same JavaScript value.
func (v *value) encode(enc *msgpack.Encoder) error {
	switch v.kind {
	case kNull, kUndefined:
		return enc.EncodeNil()
	case kBool:
		return enc.EncodeBool(v.b)
	case kNumber:
		return encodeNumber(enc, v.num)
	case kString:
		return enc.EncodeString(v.str)
	case kBinary:
		return enc.EncodeBytes([]byte(v.str))
	case kArray:
		if err := enc.EncodeArrayLen(len(v.arr)); err != nil {
			return err
		}
		for i := range v.arr {
			if err := v.arr[i].encode(enc); err != nil {
				return err
			}
		}
		return nil
	case kObject:
		n := 0
		for i := range v.vals {
			if v.vals[i].kind != kUndefined {
				n++
			}
		}
		if err := enc.EncodeMapLen(n); err != nil {
			return err
		}
		for i, k := range v.keys {
			if v.vals[i].kind == kUndefined {
				continue
			}
			if err := enc.EncodeString(k); err != nil {
				return err
			}
			if err := v.vals[i].encode(enc); err != nil {
				return err
			}
		}
		return nil
	}
	return enc.EncodeNil()
}

// encodeNumber writes a JSON number literal: whole numbers in the smallest
// integer form, anything else as float64, as notepack.io does.
func encodeNumber(enc *msgpack.Encoder, lit string) error {
	if !strings.ContainsAny(lit, ".eE") {
		if n, err := strconv.ParseInt(lit, 10, 64); err == nil {
			return enc.EncodeInt(n)
		}
		if n, err := strconv.ParseUint(lit, 10, 64); err == nil {
			return enc.EncodeUint(n)
		}
	}
	f, err := strconv.ParseFloat(lit, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return err
	}
	if f == math.Trunc(f) && !math.IsInf(f, 0) {
		switch {
		case f >= 0 && f < 1<<64:
			return enc.EncodeUint(uint64(f))
		case f < 0 && f >= -(1<<63):
			return enc.EncodeInt(int64(f))
		}
	}
	return enc.EncodeFloat64(f)
}

// ---------------------------------------------------------------------------
// MessagePack in

// decodeMsgpack reads one MessagePack value. It never panics, and bounds
// what it allocates by the size of the input. Strings and binary in the
// result are substrings of b, not copies.
func decodeMsgpack(b string) (value, error) {
	d := decoderPool.Get().(*msgpackDecoder)
	defer decoderPool.Put(d)
	d.src = b
	d.r.Reset(b)
	d.dec.Reset(&d.r)
	v, err := d.value(0)
	if err != nil {
		return value{}, err
	}
	if d.r.Len() != 0 {
		return value{}, errors.New("redisadapter: trailing bytes after MessagePack value")
	}
	return v, nil
}

var decoderPool = sync.Pool{New: func() any {
	d := &msgpackDecoder{}
	d.dec = msgpack.NewDecoder(&d.r)
	return d
}}

type msgpackDecoder struct {
	src string
	r   strings.Reader
	dec *msgpack.Decoder
}

var errShort = errors.New("redisadapter: MessagePack length exceeds the message")

func (d *msgpackDecoder) value(depth int) (value, error) {
	c, err := d.dec.PeekCode()
	if err != nil {
		return value{}, err
	}
	switch {
	case c == msgpcode.Nil:
		return value{}, d.dec.DecodeNil()
	case c == msgpcode.True || c == msgpcode.False:
		b, err := d.dec.DecodeBool()
		return value{kind: kBool, b: b}, err
	case msgpcode.IsFixedNum(c) || c == msgpcode.Int8 || c == msgpcode.Int16 || c == msgpcode.Int32 || c == msgpcode.Int64:
		n, err := d.dec.DecodeInt64()
		return value{kind: kNumber, num: strconv.FormatInt(n, 10)}, err
	case c == msgpcode.Uint8 || c == msgpcode.Uint16 || c == msgpcode.Uint32 || c == msgpcode.Uint64:
		n, err := d.dec.DecodeUint64()
		return value{kind: kNumber, num: strconv.FormatUint(n, 10)}, err
	case c == msgpcode.Float || c == msgpcode.Double:
		f, err := d.dec.DecodeFloat64()
		if err != nil {
			return value{}, err
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return value{}, nil // JSON has no such number: null, as JSON.stringify writes
		}
		return value{kind: kNumber, num: string(appendNumber(nil, f))}, nil
	case msgpcode.IsString(c):
		n, err := d.dec.DecodeBytesLen()
		if err != nil {
			return value{}, err
		}
		s, err := d.read(n)
		return str(s), err
	case msgpcode.IsBin(c):
		n, err := d.dec.DecodeBytesLen()
		if err != nil {
			return value{}, err
		}
		s, err := d.read(n)
		return value{kind: kBinary, str: s}, err
	case msgpcode.IsFixedArray(c) || c == msgpcode.Array16 || c == msgpcode.Array32:
		if depth >= maxDepth {
			return value{}, errTooDeep
		}
		n, err := d.dec.DecodeArrayLen()
		if err != nil {
			return value{}, err
		}
		if n > d.r.Len() {
			return value{}, errShort
		}
		v := value{kind: kArray, arr: make([]value, n)}
		for i := range v.arr {
			if v.arr[i], err = d.value(depth + 1); err != nil {
				return value{}, err
			}
		}
		return v, nil
	case msgpcode.IsFixedMap(c) || c == msgpcode.Map16 || c == msgpcode.Map32:
		if depth >= maxDepth {
			return value{}, errTooDeep
		}
		n, err := d.dec.DecodeMapLen()
		if err != nil {
			return value{}, err
		}
		if 2*n > d.r.Len() {
			return value{}, errShort
		}
		v := value{kind: kObject, keys: make([]string, 0, n), vals: make([]value, 0, n)}
		for range n {
			k, err := d.value(depth + 1)
			if err != nil {
				return value{}, err
			}
			e, err := d.value(depth + 1)
			if err != nil {
				return value{}, err
			}
			v.keys = append(v.keys, k.key())
			v.vals = append(v.vals, e)
		}
		return v, nil
	case msgpcode.IsExt(c):
		id, n, err := d.dec.DecodeExtHeader()
		if err != nil {
			return value{}, err
		}
		data, err := d.read(n)
		if err != nil {
			return value{}, err
		}
		return extValue(id, data), nil
	}
	return value{}, fmt.Errorf("redisadapter: invalid MessagePack code 0x%02x", c)
}

// read takes n raw bytes, as a substring of the input.
func (d *msgpackDecoder) read(n int) (string, error) {
	if n < 0 || n > d.r.Len() {
		return "", errShort
	}
	off := len(d.src) - d.r.Len()
	if _, err := d.r.Seek(int64(n), io.SeekCurrent); err != nil {
		return "", err
	}
	return d.src[off : off+n], nil
}

// key turns a map key into an object key, as JavaScript does (notepack.io
// assigns value[key]): String(key). An object is "[object Object]" and an
// array the join of its elements with commas, so the key costs no more
// than the value it comes from. (Writing such keys as JSON, as this once
// did, escaped a nested key's quotes again at every level: twice as long
// per level of maps used as keys of maps.)
func (v *value) key() string {
	switch v.kind {
	case kString, kBinary:
		return v.str
	case kNumber:
		return v.num
	case kBool:
		return strconv.FormatBool(v.b)
	case kNull:
		return "null"
	case kUndefined:
		return "undefined"
	case kArray:
		return string(v.appendJoined(nil))
	}
	return "[object Object]"
}

// appendJoined appends Array.prototype.join(",") of array v: null and
// undefined elements are empty, arrays are joined in turn.
func (v *value) appendJoined(dst []byte) []byte {
	for i := range v.arr {
		if i > 0 {
			dst = append(dst, ',')
		}
		switch e := &v.arr[i]; e.kind {
		case kNull, kUndefined:
		case kArray:
			dst = e.appendJoined(dst)
		default:
			dst = append(dst, e.key()...)
		}
	}
	return dst
}

// extValue decodes the extensions notepack.io knows: a timestamp (-1) is a
// Date, written in JSON as its ISO string; type 0 is an ArrayBuffer, or
// undefined when it is one zero byte; others become [type, bytes].
func extValue(id int8, data string) value {
	switch {
	case id == -1:
		if t, ok := timestamp(data); ok {
			return str(t.UTC().Format("2006-01-02T15:04:05.000Z"))
		}
	case id == 0 && data == "\x00":
		return value{kind: kUndefined}
	case id == 0:
		return value{kind: kBinary, str: data}
	}
	return value{kind: kArray, arr: []value{
		{kind: kNumber, num: strconv.Itoa(int(id))},
		{kind: kBinary, str: data},
	}}
}

func timestamp(b string) (time.Time, bool) {
	be := func(s string) uint64 {
		var n uint64
		for i := 0; i < len(s); i++ {
			n = n<<8 | uint64(s[i])
		}
		return n
	}
	switch len(b) {
	case 4:
		return time.Unix(int64(be(b)), 0), true
	case 8:
		n := be(b)
		return time.Unix(int64(n&(1<<34-1)), int64(n>>34)), true
	case 12:
		return time.Unix(int64(be(b[4:])), int64(be(b[:4]))), true
	}
	return time.Time{}, false
}
