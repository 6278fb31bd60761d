// Package mtf reads and writes the Microsoft Tape Format (MTF 1.00a), the
// format of NT Backup's .bkf files.
//
// # Format
//
// A tape is a sequence of blocks (DBLKs), each starting on a format logical
// block (FLB) boundary: a 52-byte common header (Header, with its XOR
// checksum), a type-specific fixed part and its strings (a Descriptor:
// TapeHeader, StartSet, Volume, Directory, File, CorruptFile, EndSetPad,
// EndSet, EndOfMedia, Filemark), then streams, each a 22-byte StreamHeader
// (with its own checksum) and data on 4-byte boundaries, the last one SPAD
// padding to the next FLB. Strings are located by TapeAddress and are UTF-16LE
// or ANSI; dates are the 5-byte MTF_DATE_TIME. On a file there are no
// hardware filemarks: each filemark is an SFMB block filling one soft
// filemark block.
//
// # What exbackup writes
//
// Writer produces, with an FLB of 1024 bytes and soft filemark blocks of
// 1024 bytes, NT Backup's layout:
//
//	TAPE · SFMB · SSET · VOLB · DIRB · FILE … · SFMB · ESET · SFMB · SSET …
//
// The FLA of a block of a set counts FLBs from its SSET (0), the ESET
// included; control block ids count from 0 at the SSET and on through the
// ESET. An SFMB's FLA is its physical block number (offset / FLB size), its
// control block ids count 1, 2, … over the whole tape, and its entries list
// its own PBA then the earlier filemarks', newest first. The SSET's PBA is
// its offset / FLB size. Dates are UTC and the SSET time zone field is 0.
// Each FILE holds STAN (media attribute "CSUM follows") with the data, then
// CSUM. Names longer than MaxInlineName bytes go into FNAM or PNAM streams.
//
// exbackup adds four streams of its own; their ids are not MTF's, so an
// independent reader skips them like any stream it does not know:
//
//   - EXBH, after each FILE's CSUM: the data's length, CRC-32C and digest
//     (FileHash): BLAKE3 since version 2 of the stream, SHA-256 in version
//     1, which the first tapes carry and which is still read. The hashes
//     and the CSUM are computed as the data is copied to the tape, by
//     goroutines beside the one copying it; a source that has checked the
//     data's CRC-32C already (a CRCReader) hands it over instead.
//   - EXBS, in the SSET: a JSON object with the set's restricted-access flag
//     and free properties (SetInfo). The owner is the SSET user name.
//   - EXBC, in the ESET of a set with a media based catalog, after TSMP:
//     the digest table (DigestTable, catalog_digests.go), each FILE's FLA
//     and EXBH in the order of the detail, with BLAKE3 digests of the SSET
//     block, of the TFDD data and of the table itself, so that the set is
//     listed with its files' digests from its catalog alone.
//   - EXBM, in the TAPE block and in each ESET: SHA-256 over every byte from
//     the start of the TAPE block, or of the set's SSET, up to the EXBM
//     stream header, leaving out the data bytes of the sets' STAN streams
//     (covered by their EXBH). The MTF checksums cover only headers; with
//     EXBM one flipped byte anywhere in a set (a file name, a date, a
//     length) is found by merely listing it.
//
// An encrypted set adds EXBK, in the SSET: the set's data key wrapped in
// an age header (KeyHeader); its STAN streams are then age payloads (see
// StreamKeys).
//
// WriterOptions.Plain leaves these out, for tapes shaped like any writer's.
//
// With WriterOptions.Catalog, each set ends with a type 1 media based
// catalog (catalog.go): the ESET's first stream offset puts a TFDD stream
// (the file/directory detail: an entry per VOLB, DIRB and FILE, then FEND
// stretched to the next FLB; a DIRB or FILE whose name is in a stream is
// listed with that name) on the FLB after the ESET's head, a TSMP stream
// (the set map of every set of the family so far) follows on an FLB
// boundary, then EXBC, EXBM and SPAD; a second ESET, whose catalog fields hold
// the physical block addresses of both stream headers, and a soft filemark
// close the set. Such an exbackup set is finished only with its second
// ESET.
//
// # Reading
//
// Reader walks blocks (Next) with one fixed buffer, jumping over file data,
// so that listing a tape (Scan) costs its metadata, not its size. OpenData
// streams one file's data through a few read-ahead chunks, whatever the file
// size, and checks CSUM, CRC-32C and, when asked, the digest at the end. Each
// chunk's share of the CSUM and its CRC-32C are computed by the goroutine that
// read it (an encrypted chunk's CRC-32C once decrypted) and combined in order
// (internal/crc32c), so that ReadChunk hands the consumer each chunk with its
// CRC-32C and no checksum left to compute. Foreign
// tapes are read too: ANSI strings, an SFMB right after TAPE, NT streams
// (NACL, NTEA, ADAT…), CFIL and ESPB blocks, blocks without SPAD; what is not
// needed is skipped.
//
// What a FILE holds beyond plain STAN data is sorted by Block.Content:
// software compression (StreamCompressed, MTF_LZS221: FrameReader decodes
// the 24-byte MTF_CMP_HDR frames, a frame whose compressed size equals its
// size being stored as it is, and DecompressLZS the Stac LZS of ANSI
// X3.241; CompressLZS and EncodeFrames build such data), sparse files (a
// STAN marked sparse, then SPAR streams each holding an 8-byte offset and
// the bytes there), alternate data streams (ADAT: a u32 name length, the
// UTF-16 name ":name:$DATA", the bytes) and NT streams of no file content
// (NACL, NTEA, NTOI, NTQU…). Every stream's CSUM, when one follows, is kept
// on its StreamRef and checked by StreamReader. Reader.Catalog lists a
// tape from its media based catalog (the last filemark leads to the last
// ESET and its set map, each set map entry to its detail) without walking
// the tape; on exbackup's sets it also reads the SSET and the EXBC table,
// giving each file its EXBH, or says in Set.DigestsErr why it could not. Lone UTF-16 surrogates in names are kept (as WTF-8), so an
// extractor can map them reversibly. Scan lets a FILE come before the DIRB
// it names. Package mtftest builds tapes block by block for tests.
//
// Nothing read is trusted: every length and offset is checked against its
// block and the file before use, allocations are bounded by fixed limits or
// by the input's size, and problems come back as a *FormatError naming the
// tape, byte offset, block (and set and file when known), matching the
// sentinel errors with errors.Is. Scan records a problem on its set and
// carries on at the next valid block, so one damaged set does not hide the
// others; a set whose ESET never came is aborted, and AppendPoint puts the
// next set over it.
package mtf
