// Package wire is what both ends of the exserver API share: the framed
// streams that carry files (FrameWriter, FrameReader, with their CRC-32C
// combined from the frames' own), the connections that batch a stream's
// TLS records (StreamConn), the JSON bodies and the table between error
// codes and HTTP statuses, the HTTP/2 settings, the checks of names and
// addresses a request carries, and certificate fingerprints.
//
// It imports only the contract (package exchange): the server
// (exchange/server) and the client (exchange/client) import it, and
// neither imports the other through it.
package wire
