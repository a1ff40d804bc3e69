package parser

import (
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"
)

// Raw is one JSON value as received, with the attachments its placeholders
// refer to. A Raw passed to MarshalArgs or AppendValue is re-emitted as is,
// binary included: its JSON is copied byte for byte, except that each
// placeholder is renumbered to follow the attachments collected so far.
type Raw struct {
	// JSON is the value, with {"_placeholder":true,"num":N} objects where
	// binary attachments go.
	JSON json.RawMessage
	// Attachments are the buffers the placeholders refer to by index.
	Attachments [][]byte
}

// Unmarshal decodes r into v, as Unmarshal(r.JSON, r.Attachments, v).
func (r Raw) Unmarshal(v any) error { return Unmarshal(r.JSON, r.Attachments, v) }

// Value decodes r into a generic value, as Value(r.JSON, r.Attachments).
func (r Raw) Value() (any, error) { return Value(r.JSON, r.Attachments) }

var (
	marshalerType     = reflect.TypeFor[json.Marshaler]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
	isZeroerType      = reflect.TypeFor[isZeroer]()
	numberType        = reflect.TypeFor[json.Number]()
	rawType           = reflect.TypeFor[Raw]()
)

type isZeroer interface{ IsZero() bool }

// maxEncodeDepth bounds the nesting of pointers, interfaces, slices, arrays
// and maps that MarshalArgs walks, so a cyclic value gives an error rather
// than exhausting the stack.
const maxEncodeDepth = 10000

// errEncodeTooDeep is returned for values nested deeper than maxEncodeDepth.
var errEncodeTooDeep = errors.New("socketio parser: value nested too deeply (cyclic?)")

// MarshalArgs encodes args as one JSON array, e.g. the event name followed
// by the event's arguments. Every non-nil []byte (of any type whose
// elements are bytes, at any depth: struct fields, map values, slice
// elements, interfaces) becomes a placeholder {"_placeholder":true,"num":N}
// and is returned in attachments, in placeholder order; a nil []byte is
// null. A Raw is re-emitted with its attachments. Everything else is
// encoded exactly as encoding/json encodes it, and a value without []byte
// or Raw gives the same bytes as json.Marshal.
//
// Attachments alias the caller's byte slices: they must not be modified
// until they are sent.
func MarshalArgs(args ...any) (data []byte, attachments [][]byte, err error) {
	return AppendArgs(make([]byte, 0, 128), args...)
}

// AppendArgs is MarshalArgs appending to dst, for a caller that puts the
// packet's header first. On error it returns nil.
func AppendArgs(dst []byte, args ...any) (data []byte, attachments [][]byte, err error) {
	e := getEncodeState(dst, nil)
	defer putEncodeState(e)
	e.buf = append(e.buf, '[')
	for i, a := range args {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		if err := e.value(a); err != nil {
			return nil, nil, err
		}
	}
	e.buf = append(e.buf, ']')
	return e.buf, e.atts, nil
}

// MarshalEvent is MarshalArgs for an event: the JSON array of the event's
// name followed by args.
func MarshalEvent(event string, args []any) (data []byte, attachments [][]byte, err error) {
	e := getEncodeState(make([]byte, 0, 64+len(event)), nil)
	defer putEncodeState(e)
	e.buf = append(e.buf, '[')
	if err := e.value(event); err != nil {
		return nil, nil, err
	}
	for _, a := range args {
		e.buf = append(e.buf, ',')
		if err := e.value(a); err != nil {
			return nil, nil, err
		}
	}
	e.buf = append(e.buf, ']')
	return e.buf, e.atts, nil
}

// AppendValue is like MarshalArgs for a single value: it appends the JSON
// encoding of v to dst and the attachments of its placeholders to atts
// (numbering placeholders from len(atts)), and returns both. On error it
// returns dst and atts unchanged in length.
func AppendValue(dst []byte, atts [][]byte, v any) ([]byte, [][]byte, error) {
	e := getEncodeState(dst, atts)
	defer putEncodeState(e)
	if err := e.value(v); err != nil {
		return dst, atts, err
	}
	return e.buf, e.atts, nil
}

var encodeStatePool = sync.Pool{New: func() any { return new(encodeState) }}

func getEncodeState(buf []byte, atts [][]byte) *encodeState {
	e := encodeStatePool.Get().(*encodeState)
	e.buf, e.atts, e.depth = buf, atts, 0
	return e
}

func putEncodeState(e *encodeState) {
	*e = encodeState{}
	encodeStatePool.Put(e)
}

type encodeState struct {
	buf   []byte
	atts  [][]byte
	depth int
}

type encoderFunc func(e *encodeState, v reflect.Value) error

// value encodes v, with shortcuts for the most common argument types.
func (e *encodeState) value(v any) error {
	switch x := v.(type) {
	case nil:
		e.buf = append(e.buf, "null"...)
		return nil
	case string:
		e.buf = appendString(e.buf, x, true)
		return nil
	case bool:
		e.buf = strconv.AppendBool(e.buf, x)
		return nil
	case int:
		e.buf = strconv.AppendInt(e.buf, int64(x), 10)
		return nil
	case []byte:
		e.bytes(x)
		return nil
	}
	rv := reflect.ValueOf(v)
	t := rv.Type()
	enc := typeEncoder(t)
	if _, ok := delegated.Load(t); ok {
		// Hand the interface to encoding/json as is, saving the
		// allocation of re-boxing rv.
		return e.marshal(v)
	}
	return enc(e, rv)
}

func (e *encodeState) bytes(b []byte) {
	if b == nil {
		e.buf = append(e.buf, "null"...)
		return
	}
	e.attach(b)
}

// attach writes a placeholder for b and collects b.
func (e *encodeState) attach(b []byte) {
	e.buf = appendPlaceholder(e.buf, len(e.atts))
	if e.atts == nil {
		e.atts = make([][]byte, 0, 4)
	}
	e.atts = append(e.atts, b)
}

func appendPlaceholder(dst []byte, num int) []byte {
	dst = append(dst, `{"_placeholder":true,"num":`...)
	dst = strconv.AppendInt(dst, int64(num), 10)
	return append(dst, '}')
}

func (e *encodeState) enter() error {
	e.depth++
	if e.depth > maxEncodeDepth {
		return errEncodeTooDeep
	}
	return nil
}

func hasMarshaler(t reflect.Type) bool {
	return t.Implements(marshalerType) || t.Implements(textMarshalerType)
}

// isByteSlice reports whether encoding/json treats t as a byte slice
// (base64), which is what travels as a binary attachment here.
func isByteSlice(t reflect.Type) bool {
	return t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8 &&
		!hasMarshaler(reflect.PointerTo(t.Elem()))
}

var binaryCache sync.Map // reflect.Type -> bool

// mayContainBinary reports whether a value of type t can hold a byte slice
// or a Raw that this package must turn into attachments. Types for which it
// is false are handed to encoding/json whole.
func mayContainBinary(t reflect.Type) bool {
	if b, ok := binaryCache.Load(t); ok {
		return b.(bool)
	}
	b := reachesBinary(t, map[reflect.Type]bool{})
	binaryCache.Store(t, b)
	return b
}

func reachesBinary(t reflect.Type, seen map[reflect.Type]bool) bool {
	if t == rawType {
		return true
	}
	if hasMarshaler(t) || seen[t] {
		// A type's own marshaler wins; a type already on the walk adds
		// nothing new to what is reachable.
		return false
	}
	seen[t] = true
	switch t.Kind() {
	case reflect.Interface:
		return true
	case reflect.Pointer, reflect.Array, reflect.Map:
		return reachesBinary(t.Elem(), seen)
	case reflect.Slice:
		return isByteSlice(t) || reachesBinary(t.Elem(), seen)
	case reflect.Struct:
		for i := range t.NumField() {
			sf := t.Field(i)
			if (!sf.IsExported() && !sf.Anonymous) || sf.Tag.Get("json") == "-" {
				continue
			}
			if reachesBinary(sf.Type, seen) {
				return true
			}
		}
	}
	return false
}

var encoderCache sync.Map // reflect.Type -> encoderFunc

// typeEncoder returns the cached encoder of t, building it on first use.
// Recursive types get an indirect encoder while theirs is being built.
func typeEncoder(t reflect.Type) encoderFunc {
	if f, ok := encoderCache.Load(t); ok {
		return f.(encoderFunc)
	}
	var (
		wg sync.WaitGroup
		f  encoderFunc
	)
	wg.Add(1)
	fi, loaded := encoderCache.LoadOrStore(t, encoderFunc(func(e *encodeState, v reflect.Value) error {
		wg.Wait()
		return f(e, v)
	}))
	if loaded {
		return fi.(encoderFunc)
	}
	f = newTypeEncoder(t)
	wg.Done()
	encoderCache.Store(t, f)
	return f
}

func newTypeEncoder(t reflect.Type) encoderFunc {
	if t == rawType {
		return encodeRaw
	}
	if !mayContainBinary(t) {
		return leafEncoder(t)
	}
	walk := walkEncoder(t)
	if t.Kind() != reflect.Pointer && hasMarshaler(reflect.PointerTo(t)) {
		// encoding/json calls pointer-receiver marshalers on addressable
		// values only.
		return func(e *encodeState, v reflect.Value) error {
			if v.CanAddr() {
				return encodeFallback(e, v)
			}
			return walk(e, v)
		}
	}
	return walk
}

// walkEncoder encodes a type that may contain binary by walking it.
func walkEncoder(t reflect.Type) encoderFunc {
	switch t.Kind() {
	case reflect.Interface:
		return encodeInterface
	case reflect.Pointer:
		return ptrEncoder{typeEncoder(t.Elem())}.encode
	case reflect.Slice:
		if isByteSlice(t) {
			return encodeByteSlice
		}
		return sliceEncoder{typeEncoder(t.Elem())}.encode
	case reflect.Array:
		return arrayEncoder{typeEncoder(t.Elem())}.encode
	case reflect.Map:
		return newMapEncoder(t)
	case reflect.Struct:
		return newStructEncoder(t)
	}
	return encodeFallback
}

// leafEncoder encodes a type that cannot contain binary: directly for plain
// scalars, through encoding/json otherwise.
func leafEncoder(t reflect.Type) encoderFunc {
	if hasMarshaler(t) || (t.Kind() != reflect.Pointer && hasMarshaler(reflect.PointerTo(t))) {
		delegated.Store(t, true)
		return encodeFallback
	}
	switch t.Kind() {
	case reflect.Bool:
		return encodeBool
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return encodeInt
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return encodeUint
	case reflect.Float32:
		return float32Encoder
	case reflect.Float64:
		return float64Encoder
	case reflect.String:
		if t != numberType {
			return encodeString
		}
	}
	delegated.Store(t, true)
	return encodeFallback
}

// delegated holds the types whose values leafEncoder hands to
// encoding/json whole.
var delegated sync.Map // reflect.Type -> true

// encodeFallback appends json.Marshal of v, through its address when it is
// addressable so that pointer-receiver marshalers apply as in encoding/json.
func encodeFallback(e *encodeState, v reflect.Value) error {
	if !v.CanInterface() {
		return &json.UnsupportedTypeError{Type: v.Type()}
	}
	if v.CanAddr() {
		return e.marshal(v.Addr().Interface())
	}
	return e.marshal(v.Interface())
}

// marshal appends json.Marshal(x).
func (e *encodeState) marshal(x any) error {
	m := marshalerPool.Get().(*pooledMarshaler)
	m.dst = e.buf
	err := m.enc.Encode(x) // json.Marshal's bytes plus '\n', written into e.buf
	if err == nil {
		e.buf = m.dst[:len(m.dst)-1]
	}
	m.dst = nil
	marshalerPool.Put(m)
	return err
}

// pooledMarshaler appends json.Encoder output to dst, saving the copy and
// allocation of json.Marshal's result.
type pooledMarshaler struct {
	dst []byte
	enc *json.Encoder
}

// Write appends p to m.dst.
func (m *pooledMarshaler) Write(p []byte) (int, error) {
	m.dst = append(m.dst, p...)
	return len(p), nil
}

var marshalerPool = sync.Pool{New: func() any {
	m := new(pooledMarshaler)
	m.enc = json.NewEncoder(m)
	return m
}}

func encodeBool(e *encodeState, v reflect.Value) error {
	e.buf = strconv.AppendBool(e.buf, v.Bool())
	return nil
}

func encodeInt(e *encodeState, v reflect.Value) error {
	e.buf = strconv.AppendInt(e.buf, v.Int(), 10)
	return nil
}

func encodeUint(e *encodeState, v reflect.Value) error {
	e.buf = strconv.AppendUint(e.buf, v.Uint(), 10)
	return nil
}

func encodeString(e *encodeState, v reflect.Value) error {
	e.buf = appendString(e.buf, v.String(), true)
	return nil
}

type floatEncoder int // bits

func (bits floatEncoder) encode(e *encodeState, v reflect.Value) error {
	f := v.Float()
	b, ok := appendFloat(e.buf, f, int(bits))
	if !ok {
		return &json.UnsupportedValueError{Value: v, Str: strconv.FormatFloat(f, 'g', -1, int(bits))}
	}
	e.buf = b
	return nil
}

var (
	float32Encoder = floatEncoder(32).encode
	float64Encoder = floatEncoder(64).encode
)

func encodeByteSlice(e *encodeState, v reflect.Value) error {
	if v.IsNil() {
		e.buf = append(e.buf, "null"...)
		return nil
	}
	e.attach(v.Bytes())
	return nil
}

func encodeInterface(e *encodeState, v reflect.Value) error {
	if v.IsNil() {
		e.buf = append(e.buf, "null"...)
		return nil
	}
	if err := e.enter(); err != nil {
		return err
	}
	ev := v.Elem()
	err := typeEncoder(ev.Type())(e, ev)
	e.depth--
	return err
}

type ptrEncoder struct{ elem encoderFunc }

func (pe ptrEncoder) encode(e *encodeState, v reflect.Value) error {
	if v.IsNil() {
		e.buf = append(e.buf, "null"...)
		return nil
	}
	if err := e.enter(); err != nil {
		return err
	}
	err := pe.elem(e, v.Elem())
	e.depth--
	return err
}

type sliceEncoder struct{ elem encoderFunc }

func (se sliceEncoder) encode(e *encodeState, v reflect.Value) error {
	if v.IsNil() {
		e.buf = append(e.buf, "null"...)
		return nil
	}
	return arrayEncoder(se).encode(e, v)
}

type arrayEncoder struct{ elem encoderFunc }

func (ae arrayEncoder) encode(e *encodeState, v reflect.Value) error {
	if err := e.enter(); err != nil {
		return err
	}
	e.buf = append(e.buf, '[')
	n := v.Len()
	for i := range n {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		if err := ae.elem(e, v.Index(i)); err != nil {
			return err
		}
	}
	e.buf = append(e.buf, ']')
	e.depth--
	return nil
}

type mapEncoder struct{ elem encoderFunc }

func newMapEncoder(t reflect.Type) encoderFunc {
	switch t.Key().Kind() {
	case reflect.String,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
	default:
		if !t.Key().Implements(textMarshalerType) {
			return func(*encodeState, reflect.Value) error {
				return &json.UnsupportedTypeError{Type: t}
			}
		}
	}
	return mapEncoder{typeEncoder(t.Elem())}.encode
}

type mapEntry struct {
	key string
	val reflect.Value
}

func (me mapEncoder) encode(e *encodeState, v reflect.Value) error {
	if v.IsNil() {
		e.buf = append(e.buf, "null"...)
		return nil
	}
	if err := e.enter(); err != nil {
		return err
	}
	entries := make([]mapEntry, 0, v.Len())
	it := v.MapRange()
	for it.Next() {
		k, err := mapKey(it.Key())
		if err != nil {
			return fmt.Errorf("json: encoding error for type %q: %q", v.Type().String(), err.Error())
		}
		entries = append(entries, mapEntry{k, it.Value()})
	}
	slices.SortFunc(entries, func(a, b mapEntry) int { return strings.Compare(a.key, b.key) })
	e.buf = append(e.buf, '{')
	for i, kv := range entries {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		e.buf = appendString(e.buf, kv.key, true)
		e.buf = append(e.buf, ':')
		if err := me.elem(e, kv.val); err != nil {
			return err
		}
	}
	e.buf = append(e.buf, '}')
	e.depth--
	return nil
}

// mapKey resolves a map key to its JSON name as encoding/json does: string
// kinds as is, then encoding.TextMarshaler, then integers.
func mapKey(k reflect.Value) (string, error) {
	if k.Kind() == reflect.String {
		return k.String(), nil
	}
	if k.Type().Implements(textMarshalerType) && k.CanInterface() {
		if k.Kind() == reflect.Pointer && k.IsNil() {
			return "", nil
		}
		tm, ok := k.Interface().(encoding.TextMarshaler)
		if !ok { // a nil interface key
			return "", nil
		}
		b, err := tm.MarshalText()
		return string(b), err
	}
	switch k.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(k.Int(), 10), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return strconv.FormatUint(k.Uint(), 10), nil
	}
	return "", &json.UnsupportedTypeError{Type: k.Type()}
}

// encodeRaw re-emits a Raw: its JSON verbatim, placeholders renumbered after
// the attachments collected so far (each placeholder references a distinct
// attachment, so renumbering keeps placeholder order). A Raw without
// attachments has no placeholders (see Decoder).
func encodeRaw(e *encodeState, v reflect.Value) error {
	data := v.Field(0).Bytes()
	atts := v.Field(1)
	if len(data) == 0 {
		e.buf = append(e.buf, "null"...)
		return nil
	}
	s := scanner{data: data, natts: atts.Len(), checkPH: atts.Len() > 0, record: atts.Len() > 0}
	if !s.whole() {
		return fmt.Errorf("socketio parser: Raw: %w", s.err)
	}
	last := 0
	for _, ph := range s.phs {
		e.buf = append(e.buf, data[last:ph.start]...)
		e.attach(atts.Index(ph.num).Bytes())
		last = ph.end
	}
	e.buf = append(e.buf, data[last:]...)
	return nil
}

// Struct fields.
//
// The field set follows encoding/json: exported fields, and the fields of
// embedded structs (exported or not, through pointers) promoted; a tag
// `json:"-"` drops a field, `json:"name"` renames it (invalid names are
// ignored), and the options omitempty, omitzero and string apply. When
// several fields share a name, the least nested ones win; among those a
// tagged one wins; if that leaves more than one, all are dropped.

type structField struct {
	key       string // `"name":` as encoding/json writes it
	index     []int
	tagged    bool
	name      string
	omitEmpty bool
	omitZero  bool
	isZero    func(reflect.Value) bool
	quoted    bool
	enc       encoderFunc
}

type structEncoder struct{ fields []structField }

func newStructEncoder(t reflect.Type) encoderFunc {
	fields := structFields(t)
	for i := range fields {
		fields[i].enc = typeEncoder(typeByIndex(t, fields[i].index))
	}
	return structEncoder{fields}.encode
}

func (se structEncoder) encode(e *encodeState, v reflect.Value) error {
	e.buf = append(e.buf, '{')
	first := true
fields:
	for i := range se.fields {
		f := &se.fields[i]
		fv := v
		for _, j := range f.index {
			if fv.Kind() == reflect.Pointer {
				if fv.IsNil() {
					continue fields
				}
				fv = fv.Elem()
			}
			fv = fv.Field(j)
		}
		if f.omitEmpty && isEmptyValue(fv) {
			continue
		}
		if f.omitZero && (f.isZero == nil && fv.IsZero() || f.isZero != nil && f.isZero(fv)) {
			continue
		}
		if !first {
			e.buf = append(e.buf, ',')
		}
		first = false
		e.buf = append(e.buf, f.key...)
		var err error
		if f.quoted {
			err = encodeQuoted(e, fv)
		} else {
			err = f.enc(e, fv)
		}
		if err != nil {
			return err
		}
	}
	e.buf = append(e.buf, '}')
	return nil
}

func isEmptyValue(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64,
		reflect.Interface, reflect.Pointer:
		return v.IsZero()
	}
	return false
}

// encodeQuoted encodes a field tagged `json:",string"` (a bool, number or
// string, possibly behind an unnamed pointer) inside a JSON string, unless a
// marshaler takes over, as encoding/json does.
func encodeQuoted(e *encodeState, v reflect.Value) error {
	if v.Kind() == reflect.Pointer {
		if hasMarshaler(v.Type()) {
			return encodeFallback(e, v)
		}
		if v.IsNil() {
			e.buf = append(e.buf, "null"...)
			return nil
		}
		v = v.Elem()
	}
	if hasMarshaler(v.Type()) || (v.CanAddr() && hasMarshaler(reflect.PointerTo(v.Type()))) {
		return encodeFallback(e, v)
	}
	switch v.Kind() {
	case reflect.String:
		if v.Type() == numberType {
			n := v.String()
			if n == "" {
				n = "0"
			}
			s := scanner{data: []byte(n)}
			if n[0] != '-' && !isDigit(n[0]) || !s.number() || s.pos != len(n) {
				return fmt.Errorf("json: invalid number literal %q", n)
			}
			e.buf = append(e.buf, '"')
			e.buf = append(e.buf, n...)
			e.buf = append(e.buf, '"')
			return nil
		}
		e.buf = appendString(e.buf, string(appendString(nil, v.String(), true)), false)
		return nil
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64:
		e.buf = append(e.buf, '"')
		if err := leafEncoder(v.Type())(e, v); err != nil {
			return err
		}
		e.buf = append(e.buf, '"')
		return nil
	}
	return typeEncoder(v.Type())(e, v)
}

func typeByIndex(t reflect.Type, index []int) reflect.Type {
	for _, i := range index {
		if t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		t = t.Field(i).Type
	}
	return t
}

// structFields lists the JSON fields of struct type t in field order.
func structFields(t reflect.Type) []structField {
	type embedded struct {
		typ   reflect.Type
		index []int
		count int // times this type is embedded at this level
	}
	var found []structField
	visited := map[reflect.Type]bool{}
	level := []embedded{{typ: t, count: 1}}
	for len(level) > 0 {
		var next []embedded
		nextPos := map[reflect.Type]int{}
		for _, em := range level {
			if visited[em.typ] {
				continue
			}
			visited[em.typ] = true
			for i := range em.typ.NumField() {
				sf := em.typ.Field(i)
				if sf.Anonymous {
					et := sf.Type
					if et.Kind() == reflect.Pointer {
						et = et.Elem()
					}
					if !sf.IsExported() && et.Kind() != reflect.Struct {
						continue
					}
				} else if !sf.IsExported() {
					continue
				}
				tag := sf.Tag.Get("json")
				if tag == "-" {
					continue
				}
				name, opts, _ := strings.Cut(tag, ",")
				if !validTagName(name) {
					name = ""
				}
				index := append(slices.Clip(em.index), i)
				ft := sf.Type
				if ft.Name() == "" && ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if name == "" && sf.Anonymous && ft.Kind() == reflect.Struct {
					// Promote the embedded struct's fields (next level).
					if p, ok := nextPos[ft]; ok {
						next[p].count++
					} else {
						nextPos[ft] = len(next)
						next = append(next, embedded{typ: ft, index: index, count: 1})
					}
					continue
				}
				f := structField{
					name:      name,
					tagged:    name != "",
					index:     index,
					omitEmpty: hasOption(opts, "omitempty"),
					omitZero:  jsonHonorsOmitZero && hasOption(opts, "omitzero"),
				}
				if f.name == "" {
					f.name = sf.Name
				}
				if hasOption(opts, "string") {
					switch ft.Kind() {
					case reflect.Bool,
						reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
						reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
						reflect.Float32, reflect.Float64, reflect.String:
						f.quoted = true
					}
				}
				f.key = string(appendString(nil, f.name, true)) + ":"
				if f.omitZero {
					f.isZero = zeroChecker(sf.Type)
				}
				found = append(found, f)
				if em.count > 1 {
					// The same struct embedded twice at one level: its
					// fields conflict with themselves and are dropped.
					found = append(found, f)
				}
			}
		}
		level = next
	}

	// For each name keep the dominant field, if there is exactly one.
	slices.SortStableFunc(found, func(a, b structField) int { return strings.Compare(a.name, b.name) })
	out := found[:0]
	for i := 0; i < len(found); {
		j := i + 1
		for j < len(found) && found[j].name == found[i].name {
			j++
		}
		if f, ok := dominant(found[i:j]); ok {
			out = append(out, f)
		}
		i = j
	}
	slices.SortFunc(out, func(a, b structField) int { return slices.Compare(a.index, b.index) })
	return out
}

// dominant picks the field that wins among fields sharing one name.
func dominant(fs []structField) (structField, bool) {
	minDepth := len(fs[0].index)
	for _, f := range fs[1:] {
		minDepth = min(minDepth, len(f.index))
	}
	var best structField
	n, tagged := 0, false
	for _, f := range fs {
		if len(f.index) != minDepth {
			continue
		}
		switch {
		case f.tagged && !tagged:
			best, n, tagged = f, 1, true
		case f.tagged == tagged:
			best = f
			n++
		}
	}
	return best, n == 1
}

func hasOption(opts, want string) bool {
	for opts != "" {
		var o string
		o, opts, _ = strings.Cut(opts, ",")
		if o == want {
			return true
		}
	}
	return false
}

func validTagName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		switch {
		case strings.ContainsRune("!#$%&()*+-./:;<=>?@[]^_{|}~ ", c):
		case !unicode.IsLetter(c) && !unicode.IsDigit(c):
			return false
		}
	}
	return true
}

// jsonHonorsOmitZero reports whether the encoding/json this is built with
// knows the omitzero option (Go 1.24 and later), so that the walker follows
// the same rules as json.Marshal whatever the toolchain.
var jsonHonorsOmitZero = func() bool {
	b, err := json.Marshal(struct {
		A int `json:",omitzero"`
	}{})
	return err == nil && string(b) == "{}"
}()

// zeroChecker returns the IsZero-method check that omitzero uses for type
// t, or nil to use reflect.Value.IsZero.
func zeroChecker(t reflect.Type) func(reflect.Value) bool {
	switch {
	case t.Kind() == reflect.Interface && t.Implements(isZeroerType):
		return func(v reflect.Value) bool {
			return v.IsNil() || (v.Elem().Kind() == reflect.Pointer && v.Elem().IsNil()) ||
				v.Interface().(isZeroer).IsZero()
		}
	case t.Kind() == reflect.Pointer && t.Implements(isZeroerType):
		return func(v reflect.Value) bool { return v.IsNil() || v.Interface().(isZeroer).IsZero() }
	case t.Implements(isZeroerType):
		return func(v reflect.Value) bool { return v.Interface().(isZeroer).IsZero() }
	case reflect.PointerTo(t).Implements(isZeroerType):
		return func(v reflect.Value) bool {
			if !v.CanAddr() {
				c := reflect.New(v.Type()).Elem()
				c.Set(v)
				v = c
			}
			return v.Addr().Interface().(isZeroer).IsZero()
		}
	}
	return nil
}
