package durable

// writebackEvery is how much a Stream writes through the page cache before
// it asks the system to start writing that to disk, without waiting: the
// data is then mostly on disk when the closing fsync comes.
const writebackEvery = 8 << 20
