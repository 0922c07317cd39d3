package report

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// mapWindow is how much of the file's tail is mapped at a time: the most a
// report's RSS grows by, and the most zero bytes a killed run leaves after
// its last row (readers take that tail for a damaged last row and ignore
// it; Append cuts it off).
var mapWindow int64 = 256 << 10

// mappedFile appends to a report through a shared mapping of the file's
// tail, so a row costs a memory copy instead of a write call (about 2µs
// each, a message's largest cost after its HTTP exchange). The bytes are in
// the page cache the moment they are copied, exactly as after write(2): a
// killed process loses none of them, and fsync covers them as before. Each
// window is reserved with fallocate first, so a full disk is an error from
// Write, never a SIGBUS on a store into the mapping. (Truncating the report
// from outside while a run writes it would still fault; the report's lock
// keeps other bulksend runs off, and nothing else should write a journal in
// use.)
type mappedFile struct {
	f    *os.File
	size int64  // bytes written: the report's length
	base int64  // file offset of mem, page-aligned
	mem  []byte // the mapped window; nil until the first Write
}

// mapFile returns f, whose content ends at size, as a mapped appender, or
// nil when the file system cannot reserve space or map the file, or f is
// not open for reading too (then rows are written with write calls, as
// everywhere but Linux).
func mapFile(f *os.File, size int64) *mappedFile {
	fd := int(f.Fd())
	if err := syscall.Fallocate(fd, 0, size, 1); err != nil {
		return nil
	}
	// Reserving one byte past the end grew the file; cut it back.
	if err := f.Truncate(size); err != nil {
		return nil
	}
	page := int64(os.Getpagesize())
	probe, err := syscall.Mmap(fd, size/page*page, int(page), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	if err != nil {
		return nil
	}
	if err := syscall.Munmap(probe); err != nil {
		return nil
	}
	return &mappedFile{f: f, size: size}
}

// Write copies p to the end of the report, mapping the next window when the
// current one is full.
func (m *mappedFile) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		if m.mem == nil || m.size >= m.base+int64(len(m.mem)) {
			if err := m.advance(); err != nil {
				return written, err
			}
		}
		n := copy(m.mem[m.size-m.base:], p)
		m.size += int64(n)
		written += n
		p = p[n:]
	}
	return written, nil
}

// advance maps the window that starts at the page holding m.size, after
// reserving its blocks.
func (m *mappedFile) advance() error {
	if err := m.unmap(); err != nil {
		return err
	}
	page := int64(os.Getpagesize())
	base := m.size / page * page
	fd := int(m.f.Fd())
	if err := syscall.Fallocate(fd, 0, base, mapWindow); err != nil {
		return fmt.Errorf("reserve report space: %w", err)
	}
	mem, err := syscall.Mmap(fd, base, int(mapWindow), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	if err != nil {
		return fmt.Errorf("map report: %w", err)
	}
	m.base, m.mem = base, mem
	return nil
}

func (m *mappedFile) unmap() error {
	if m.mem == nil {
		return nil
	}
	err := syscall.Munmap(m.mem)
	m.mem = nil
	if err != nil {
		return fmt.Errorf("unmap report: %w", err)
	}
	return nil
}

// Sync makes everything written durable: fsync writes out the pages
// dirtied through the mapping too.
func (m *mappedFile) Sync() error { return m.f.Sync() }

// Close unmaps the window, cuts the reserved space after the last row off,
// syncs that, and closes the file.
func (m *mappedFile) Close() error {
	err := m.unmap()
	if err == nil {
		err = m.f.Truncate(m.size)
	}
	if err == nil {
		err = m.f.Sync()
	}
	return errors.Join(err, m.f.Close())
}
