package mtf

import "time"

// DateSize is the size of an MTF_DATE_TIME.
const DateSize = 5

// EncodeDate packs t's wall clock (in t's own location) into the 40-bit MTF
// date: year 14 bits, month 4, day 5, hour 5, minute 6, second 6, most
// significant first. The zero time encodes as all zeros (unknown).
func EncodeDate(b []byte, t time.Time) {
	_ = b[DateSize-1]
	if t.IsZero() || t.Year() < 0 || t.Year() > 0x3fff {
		clear(b[:DateSize])
		return
	}
	v := uint64(t.Year())<<26 | uint64(t.Month())<<22 | uint64(t.Day())<<17 |
		uint64(t.Hour())<<12 | uint64(t.Minute())<<6 | uint64(t.Second())
	for i := 0; i < DateSize; i++ {
		b[i] = byte(v >> (8 * (DateSize - 1 - i)))
	}
}

// DecodeDate unpacks an MTF date as a wall clock in loc. All zeros, or a
// field out of range, gives the zero time.
func DecodeDate(b []byte, loc *time.Location) time.Time {
	var v uint64
	for i := 0; i < DateSize; i++ {
		v = v<<8 | uint64(b[i])
	}
	if v == 0 {
		return time.Time{}
	}
	year := int(v >> 26)
	month := int(v>>22) & 0xf
	day := int(v>>17) & 0x1f
	hour := int(v>>12) & 0x1f
	minute := int(v>>6) & 0x3f
	sec := int(v) & 0x3f
	if month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, 0, loc)
}

// TimeZoneLocal is the SSET time zone value meaning "local time".
const TimeZoneLocal = 127

// ZoneLocation returns the location of dates written under an SSET time zone
// field (15-minute steps east of UTC; 127 = the reader's local time).
func ZoneLocation(tz int8) *time.Location {
	switch {
	case tz == TimeZoneLocal:
		return time.Local
	case tz == 0:
		return time.UTC
	case tz >= -48 && tz <= 56:
		return time.FixedZone("", int(tz)*15*60)
	}
	return time.UTC
}
