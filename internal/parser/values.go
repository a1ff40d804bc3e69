package parser

import (
	"encoding/base64"
	"encoding/json"
)

// Unmarshal decodes the JSON value data into v like json.Unmarshal, where
// each placeholder {"_placeholder":true,"num":N} first becomes the base64
// JSON string of attachments[N], so that []byte destinations receive the
// bytes (string destinations receive base64 text). Two targets are special:
// for *any, v receives what Value returns (placeholders become []byte), and
// for *Raw, v receives data and attachments unchanged (no copy). A *[]byte
// target whose data is a single placeholder receives the attachment itself,
// without decoding.
//
// data must be valid JSON nested at most MaxDepth deep, and every
// placeholder must reference a distinct attachment in range; otherwise the
// error wraps ErrInvalidPacket. Errors from json.Unmarshal (a value that
// does not fit v) are returned as they are. The result may alias the
// attachments.
//
// The substitution is one linear pass over data.
func Unmarshal(data []byte, attachments [][]byte, v any) error {
	phs, err := scanPlaceholders(data, len(attachments))
	if err != nil {
		return err
	}
	switch p := v.(type) {
	case *any:
		if p != nil {
			x, err := valueOf(data, attachments, phs)
			if err != nil {
				return err
			}
			*p = x
			return nil
		}
	case *Raw:
		if p != nil {
			p.JSON, p.Attachments = data, attachments
			return nil
		}
	case *[]byte:
		// The common case of a bare buffer argument: no JSON decoding.
		if p != nil && len(phs) == 1 && phs[0].start == skipWS(data, 0) && skipWS(data, phs[0].end) == len(data) {
			*p = attachments[phs[0].num]
			return nil
		}
	}
	if len(phs) == 0 {
		return json.Unmarshal(data, v)
	}
	return json.Unmarshal(substituteBase64(data, attachments, phs), v)
}

// substituteBase64 returns data with each placeholder replaced by the
// base64 JSON string of its attachment, built in one allocation. Each
// attachment is referenced at most once (the scanner enforces it), so the
// result is at most about 4/3 of the input plus the attachments.
func substituteBase64(data []byte, atts [][]byte, phs []placeholder) []byte {
	enc := base64.StdEncoding
	size := len(data)
	for _, ph := range phs {
		size += 2 + enc.EncodedLen(len(atts[ph.num])) - (ph.end - ph.start)
	}
	out := make([]byte, 0, size)
	last := 0
	for _, ph := range phs {
		out = append(out, data[last:ph.start]...)
		out = append(out, '"')
		n := len(out)
		out = out[:n+enc.EncodedLen(len(atts[ph.num]))]
		enc.Encode(out[n:], atts[ph.num])
		out = append(out, '"')
		last = ph.end
	}
	return append(out, data[last:]...)
}

// Value decodes the JSON value data into a generic Go value as
// json.Unmarshal into an any does (map[string]any, []any, float64, string,
// bool, nil), except that each placeholder becomes its attachment, a []byte
// (aliasing attachments, not copied). Validation is as for Unmarshal.
func Value(data []byte, attachments [][]byte) (any, error) {
	phs, err := scanPlaceholders(data, len(attachments))
	if err != nil {
		return nil, err
	}
	return valueOf(data, attachments, phs)
}

func valueOf(data []byte, atts [][]byte, phs []placeholder) (any, error) {
	var x any
	if err := json.Unmarshal(data, &x); err != nil {
		return nil, err
	}
	if len(phs) == 0 {
		return x, nil
	}
	return resolve(x, atts), nil
}

// resolve replaces placeholder objects in x by their attachments. The data
// was validated first, so any object whose "_placeholder" is true is a valid
// placeholder and nesting is bounded by MaxDepth; the checks here only keep
// it from ever panicking.
func resolve(x any, atts [][]byte) any {
	switch t := x.(type) {
	case map[string]any:
		if t["_placeholder"] == true {
			if n, ok := t["num"].(float64); ok && n >= 0 && n < float64(len(atts)) && n == float64(int(n)) {
				return atts[int(n)]
			}
			return t
		}
		for k, v := range t {
			switch v.(type) {
			case map[string]any, []any:
				t[k] = resolve(v, atts)
			}
		}
	case []any:
		for i, v := range t {
			switch v.(type) {
			case map[string]any, []any:
				t[i] = resolve(v, atts)
			}
		}
	}
	return x
}
