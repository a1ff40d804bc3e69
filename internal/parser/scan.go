package parser

import "encoding/json"

// placeholder is one {"_placeholder":true,"num":N} object found by the scanner.
type placeholder struct {
	start, end int // byte range of the object in the scanned data
	num        int
}

// scanner validates one JSON text in a single pass, without allocating,
// bounding nesting by MaxDepth. When checkPH is set it also validates
// placeholders against natts (each attachment referenced at most once) and,
// when record is set, collects them in phs.
//
// It accepts exactly what encoding/json accepts (RFC 8259, invalid UTF-8 in
// strings allowed), except deeper nesting.
type scanner struct {
	data    []byte
	pos     int
	depth   int
	natts   int
	checkPH bool
	record  bool
	used    uint64 // attachments referenced so far, when natts <= 64
	usedBig []bool // same, when natts > 64
	phs     []placeholder
	err     *Error
}

func (s *scanner) fail(off int, reason string) bool {
	if s.err == nil {
		s.err = errAt(off, reason)
	}
	return false
}

func (s *scanner) skipWS() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

// whole validates that data holds exactly one JSON value, with optional
// surrounding whitespace.
func (s *scanner) whole() bool {
	s.skipWS()
	if !s.value() {
		return false
	}
	s.skipWS()
	if s.pos != len(s.data) {
		return s.fail(s.pos, "invalid character after JSON value")
	}
	return true
}

// value scans one value starting at s.pos (no leading whitespace).
func (s *scanner) value() bool {
	if s.pos >= len(s.data) {
		return s.fail(s.pos, "unexpected end of JSON")
	}
	switch c := s.data[s.pos]; c {
	case '{':
		return s.object()
	case '[':
		return s.array()
	case '"':
		_, ok := s.str()
		return ok
	case 't':
		return s.lit("true")
	case 'f':
		return s.lit("false")
	case 'n':
		return s.lit("null")
	default:
		if c == '-' || (c >= '0' && c <= '9') {
			return s.number()
		}
		return s.fail(s.pos, "invalid character in JSON")
	}
}

func (s *scanner) lit(word string) bool {
	if len(s.data)-s.pos < len(word) || string(s.data[s.pos:s.pos+len(word)]) != word {
		return s.fail(s.pos, "invalid JSON literal")
	}
	s.pos += len(word)
	return true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func (s *scanner) digits() bool {
	start := s.pos
	for s.pos < len(s.data) && isDigit(s.data[s.pos]) {
		s.pos++
	}
	if s.pos == start {
		return s.fail(s.pos, "invalid JSON number")
	}
	return true
}

func (s *scanner) number() bool {
	d := s.data
	if d[s.pos] == '-' {
		s.pos++
	}
	if s.pos >= len(d) {
		return s.fail(s.pos, "invalid JSON number")
	}
	if d[s.pos] == '0' {
		s.pos++
	} else if !s.digits() {
		return false
	}
	if s.pos < len(d) && d[s.pos] == '.' {
		s.pos++
		if !s.digits() {
			return false
		}
	}
	if s.pos < len(d) && (d[s.pos] == 'e' || d[s.pos] == 'E') {
		s.pos++
		if s.pos < len(d) && (d[s.pos] == '+' || d[s.pos] == '-') {
			s.pos++
		}
		if !s.digits() {
			return false
		}
	}
	return true
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// str scans a string starting at its opening quote and reports whether it
// contained an escape sequence.
func (s *scanner) str() (escaped, ok bool) {
	d := s.data
	i := s.pos + 1
	for i < len(d) {
		c := d[i]
		if plainStringByte[c] {
			i++
			continue
		}
		switch {
		case c == '"':
			s.pos = i + 1
			return escaped, true
		case c == '\\':
			escaped = true
			if i+1 >= len(d) {
				return false, s.fail(i, "unterminated JSON string")
			}
			switch d[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(d) || !isHex(d[i+2]) || !isHex(d[i+3]) || !isHex(d[i+4]) || !isHex(d[i+5]) {
					return false, s.fail(i, "invalid \\u escape in JSON string")
				}
				i += 6
			default:
				return false, s.fail(i, "invalid escape in JSON string")
			}
		case c < 0x20:
			return false, s.fail(i, "control character in JSON string")
		default:
			i++
		}
	}
	return false, s.fail(len(d), "unterminated JSON string")
}

// plainStringByte[c] reports whether c stands for itself inside a string.
var plainStringByte = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

func (s *scanner) enter() bool {
	s.depth++
	if s.depth > MaxDepth {
		return s.fail(s.pos, "JSON nested too deeply")
	}
	return true
}

func (s *scanner) array() bool {
	if !s.enter() {
		return false
	}
	s.pos++ // '['
	s.skipWS()
	if s.pos < len(s.data) && s.data[s.pos] == ']' {
		s.pos++
		s.depth--
		return true
	}
	for {
		s.skipWS()
		if !s.value() {
			return false
		}
		s.skipWS()
		if s.pos >= len(s.data) {
			return s.fail(s.pos, "unexpected end of JSON")
		}
		c := s.data[s.pos]
		s.pos++
		switch c {
		case ',':
		case ']':
			s.depth--
			return true
		default:
			return s.fail(s.pos-1, "expected ',' or ']' in JSON array")
		}
	}
}

const (
	keyOther = iota
	keyPlaceholder
	keyNum
)

func (s *scanner) object() bool {
	start := s.pos
	if !s.enter() {
		return false
	}
	s.pos++ // '{'
	s.skipWS()
	if s.pos < len(s.data) && s.data[s.pos] == '}' {
		s.pos++
		s.depth--
		return true
	}
	var nkeys, phKeys, numKeys int
	phTrue := false
	num := -1
	for {
		s.skipWS()
		if s.pos >= len(s.data) || s.data[s.pos] != '"' {
			return s.fail(s.pos, "expected string key in JSON object")
		}
		kstart := s.pos
		esc, ok := s.str()
		if !ok {
			return false
		}
		kind := keyOther
		if s.checkPH {
			key := s.data[kstart+1 : s.pos-1]
			if keyIs(key, esc, "_placeholder") {
				kind = keyPlaceholder
			} else if keyIs(key, esc, "num") {
				kind = keyNum
			}
		}
		s.skipWS()
		if s.pos >= len(s.data) || s.data[s.pos] != ':' {
			return s.fail(s.pos, "expected ':' in JSON object")
		}
		s.pos++
		s.skipWS()
		vstart := s.pos
		if !s.value() {
			return false
		}
		nkeys++
		switch kind {
		case keyPlaceholder:
			phKeys++
			if string(s.data[vstart:s.pos]) == "true" {
				phTrue = true
			}
		case keyNum:
			numKeys++
			num = placeholderNum(s.data[vstart:s.pos])
		}
		s.skipWS()
		if s.pos >= len(s.data) {
			return s.fail(s.pos, "unexpected end of JSON")
		}
		c := s.data[s.pos]
		s.pos++
		if c == ',' {
			continue
		}
		if c != '}' {
			return s.fail(s.pos-1, "expected ',' or '}' in JSON object")
		}
		break
	}
	s.depth--
	if phTrue {
		return s.placeholder(start, nkeys == 2 && phKeys == 1 && numKeys == 1, num)
	}
	return true
}

// placeholder checks one object whose "_placeholder" is true.
func (s *scanner) placeholder(start int, shapeOK bool, num int) bool {
	switch {
	case !shapeOK:
		return s.fail(start, `placeholder must be exactly {"_placeholder":true,"num":N}`)
	case num == numNotInteger:
		return s.fail(start, "placeholder num is not a non-negative integer")
	case num >= s.natts:
		return s.fail(start, "placeholder num out of range")
	}
	if s.natts <= 64 {
		if s.used&(1<<uint(num)) != 0 {
			return s.fail(start, "attachment referenced twice")
		}
		s.used |= 1 << uint(num)
	} else {
		if s.usedBig == nil {
			s.usedBig = make([]bool, s.natts)
		}
		if s.usedBig[num] {
			return s.fail(start, "attachment referenced twice")
		}
		s.usedBig[num] = true
	}
	if s.record {
		s.phs = append(s.phs, placeholder{start: start, end: s.pos, num: num})
	}
	return true
}

const (
	numNotInteger = -1
	numTooLarge   = 1 << 30
)

// placeholderNum parses a placeholder index: a JSON number that is a plain
// non-negative integer (no sign, fraction or exponent, no leading zero).
func placeholderNum(b []byte) int {
	if len(b) == 0 || (b[0] == '0' && len(b) > 1) {
		return numNotInteger
	}
	n := 0
	for _, c := range b {
		if !isDigit(c) {
			return numNotInteger
		}
		if n < numTooLarge {
			n = n*10 + int(c-'0')
		}
	}
	if n > numTooLarge {
		n = numTooLarge
	}
	return n
}

// keyIs reports whether the raw (quoted-content) key decodes to the ASCII
// string want, handling escapes such as "\u005fplaceholder".
func keyIs(raw []byte, escaped bool, want string) bool {
	if !escaped {
		return string(raw) == want
	}
	j := 0
	for i := 0; i < len(raw); {
		if j >= len(want) {
			return false
		}
		c := raw[i]
		if c == '\\' {
			// The scanner validated the escape already.
			switch raw[i+1] {
			case 'u':
				r := hexVal(raw[i+2])<<12 | hexVal(raw[i+3])<<8 | hexVal(raw[i+4])<<4 | hexVal(raw[i+5])
				if r >= 0x80 {
					return false
				}
				c = byte(r)
				i += 6
			case 'b':
				c, i = '\b', i+2
			case 'f':
				c, i = '\f', i+2
			case 'n':
				c, i = '\n', i+2
			case 'r':
				c, i = '\r', i+2
			case 't':
				c, i = '\t', i+2
			default: // '"', '\\', '/'
				c, i = raw[i+1], i+2
			}
		} else {
			i++
		}
		if c != want[j] {
			return false
		}
		j++
	}
	return j == len(want)
}

func hexVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	default:
		return int(c-'A') + 10
	}
}

// scanPlaceholders validates data as one JSON value whose placeholders
// reference natts attachments, returning the placeholders in order. With no
// attachments there are no placeholders: an object that looks like one is
// plain data.
func scanPlaceholders(data []byte, natts int) ([]placeholder, error) {
	s := scanner{data: data, natts: natts, checkPH: natts > 0, record: true}
	if !s.whole() {
		return nil, s.err
	}
	return s.phs, nil
}

// SplitArray splits a JSON array into its elements, without copying: each
// element aliases data (with its capacity clipped, so appending to it does not
// overwrite data). Whitespace around elements is dropped. It returns an error
// wrapping ErrInvalidPacket when data is not one valid JSON array or is
// nested deeper than MaxDepth. An empty array gives an empty, non-nil slice.
func SplitArray(data []byte) ([]json.RawMessage, error) {
	return AppendArray(make([]json.RawMessage, 0, 4), data)
}

// AppendArray is SplitArray appending the elements to dst, which lets the
// caller provide their backing array; an empty array returns dst as it is.
// On error it returns nil.
func AppendArray(dst []json.RawMessage, data []byte) ([]json.RawMessage, error) {
	s := scanner{data: data}
	s.skipWS()
	if s.pos >= len(data) || data[s.pos] != '[' {
		return nil, errAt(s.pos, "JSON payload is not an array")
	}
	s.pos++
	s.depth = 1
	s.skipWS()
	out := dst
	if s.pos < len(data) && data[s.pos] == ']' {
		s.pos++
	} else {
		for {
			s.skipWS()
			start := s.pos
			if !s.value() {
				return nil, s.err
			}
			out = append(out, json.RawMessage(data[start:s.pos:s.pos]))
			s.skipWS()
			if s.pos >= len(data) {
				return nil, errAt(s.pos, "unexpected end of JSON")
			}
			c := data[s.pos]
			s.pos++
			if c == ']' {
				break
			}
			if c != ',' {
				return nil, errAt(s.pos-1, "expected ',' or ']' in JSON array")
			}
		}
	}
	s.skipWS()
	if s.pos != len(data) {
		return nil, errAt(s.pos, "invalid character after JSON value")
	}
	return out, nil
}
