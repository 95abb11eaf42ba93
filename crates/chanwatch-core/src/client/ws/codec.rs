//! WebSocket framing for our side of an open connection (RFC 6455, section 5), without I/O:
//! whole messages out of the bytes read so far, and masked frames to send.
//!
//! Why not tungstenite's own reader: it asks the stream for exactly the rest of each frame
//! (a copy per frame out of any buffer underneath, and a zero-fill before it) and, through
//! tokio-tungstenite, registers two wakers per message. Here a busy stream is read in large
//! chunks and each text message is a slice of the chunk it arrived in. tungstenite still
//! does the handshake, and its close codes are used here.

use crate::protocol::Text;
use bytes::{Buf, Bytes, BytesMut};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

const OP_CONTINUATION: u8 = 0x0;
pub const OP_TEXT: u8 = 0x1;
const OP_BINARY: u8 = 0x2;
pub const OP_CLOSE: u8 = 0x8;
const OP_PING: u8 = 0x9;
pub const OP_PONG: u8 = 0xA;

/// One message from the server.
#[derive(Debug, PartialEq)]
pub enum Message {
    Text(Text),
    /// Binary data, which the protocol never uses: only its length is kept.
    Binary(usize),
    Ping(Bytes),
    Pong,
    /// A close frame: its code and reason, if it had a code.
    Close(Option<(u16, String)>),
}

/// Why the server's bytes cannot be read on: each ends the connection.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    #[error("frame too large, connection dropped: {size} bytes, more than the {max} allowed")]
    TooLarge { size: u64, max: usize },
    #[error("connection lost: WebSocket protocol error: {0}")]
    Protocol(&'static str),
    #[error("connection lost: a text message is not valid UTF-8")]
    NotUtf8,
}

/// Turns the bytes read so far into messages; keeps the parts of a fragmented message.
#[derive(Debug)]
pub struct Decoder {
    max_message: usize,
    /// A fragmented message being put together: text or not, and its data so far.
    partial: Option<(bool, BytesMut)>,
}

struct Header {
    fin: bool,
    opcode: u8,
    len: u64,
    header_len: usize,
}

impl Decoder {
    /// A decoder that refuses messages (and frames) over `max_message` bytes.
    pub fn new(max_message: usize) -> Decoder {
        Decoder {
            max_message,
            partial: None,
        }
    }

    /// The next whole message at the front of `buf`, removing its frames from it; `None`
    /// when `buf` does not hold one yet (then `buf` has room reserved for the frame that has
    /// begun, so that the next read can complete it).
    pub fn next(&mut self, buf: &mut BytesMut) -> Result<Option<Message>, ReadError> {
        loop {
            let Some(h) = parse_header(buf)? else {
                return Ok(None);
            };
            // Judged on the header, before the payload is waited for.
            match (h.opcode, &self.partial) {
                (OP_TEXT | OP_BINARY, Some(_)) => {
                    return Err(ReadError::Protocol(
                        "a new message began before the fragmented one ended",
                    ));
                }
                (OP_CONTINUATION, None) => {
                    return Err(ReadError::Protocol(
                        "a continuation frame with no message to continue",
                    ));
                }
                _ => {}
            }
            // Only a continuation adds to a fragmented message (a ping may come between).
            let so_far = match (h.opcode, &self.partial) {
                (OP_CONTINUATION, Some((_, data))) => data.len() as u64,
                _ => 0,
            };
            if h.len.saturating_add(so_far) > self.max_message as u64 {
                return Err(ReadError::TooLarge {
                    size: h.len.saturating_add(so_far),
                    max: self.max_message,
                });
            }
            // At most max_message (a usize, far from its limit), so this cannot overflow.
            let whole = h.header_len + h.len as usize;
            if buf.len() < whole {
                buf.reserve(whole - buf.len());
                return Ok(None);
            }
            buf.advance(h.header_len);
            let payload = buf.split_to(h.len as usize).freeze();
            match h.opcode {
                OP_TEXT | OP_BINARY => {
                    let text = h.opcode == OP_TEXT;
                    if h.fin {
                        return finish(text, payload).map(Some);
                    }
                    self.partial = Some((text, BytesMut::from(&payload[..])));
                }
                OP_CONTINUATION => {
                    let (_, data) = self.partial.as_mut().expect("checked on the header");
                    data.extend_from_slice(&payload);
                    if h.fin {
                        let (text, data) = self.partial.take().expect("checked on the header");
                        return finish(text, data.freeze()).map(Some);
                    }
                }
                OP_PING => return Ok(Some(Message::Ping(payload))),
                OP_PONG => return Ok(Some(Message::Pong)),
                OP_CLOSE => return close(&payload).map(Some),
                _ => unreachable!("parse_header refuses other opcodes"),
            }
        }
    }
}

fn parse_header(buf: &[u8]) -> Result<Option<Header>, ReadError> {
    let [b0, b1, ..] = *buf else {
        return Ok(None);
    };
    if b0 & 0x70 != 0 {
        return Err(ReadError::Protocol(
            "reserved bits set, but no extension was agreed",
        ));
    }
    if b1 & 0x80 != 0 {
        return Err(ReadError::Protocol("the server masked a frame"));
    }
    let fin = b0 & 0x80 != 0;
    let opcode = b0 & 0x0f;
    if !matches!(
        opcode,
        OP_CONTINUATION | OP_TEXT | OP_BINARY | OP_CLOSE | OP_PING | OP_PONG
    ) {
        return Err(ReadError::Protocol("a frame with an unknown opcode"));
    }
    let (len, header_len) = match b1 & 0x7f {
        126 => match buf.get(2..4) {
            Some(b) => (u64::from(u16::from_be_bytes([b[0], b[1]])), 4),
            None => return Ok(None),
        },
        127 => match buf.get(2..10) {
            Some(b) => (u64::from_be_bytes(b.try_into().expect("8 bytes")), 10),
            None => return Ok(None),
        },
        short => (u64::from(short), 2),
    };
    if opcode & 0x8 != 0 && (!fin || len > 125) {
        return Err(ReadError::Protocol(
            "a control frame fragmented or over 125 bytes",
        ));
    }
    Ok(Some(Header {
        fin,
        opcode,
        len,
        header_len,
    }))
}

fn finish(text: bool, data: Bytes) -> Result<Message, ReadError> {
    if text {
        // Every byte of every message is checked here, once.
        Text::from_utf8(data)
            .map(Message::Text)
            .map_err(|_| ReadError::NotUtf8)
    } else {
        Ok(Message::Binary(data.len()))
    }
}

/// A close frame's payload: nothing, or a code and a UTF-8 reason. A code no endpoint may
/// send becomes 1002, as tungstenite reports it.
fn close(payload: &[u8]) -> Result<Message, ReadError> {
    match payload {
        [] => Ok(Message::Close(None)),
        [_] => Err(ReadError::Protocol("a close frame with a one-byte payload")),
        [hi, lo, reason @ ..] => {
            let reason = std::str::from_utf8(reason)
                .map_err(|_| ReadError::Protocol("a close reason that is not UTF-8"))?;
            let code = u16::from_be_bytes([*hi, *lo]);
            Ok(Message::Close(Some(
                if CloseCode::from(code).is_allowed() {
                    (code, reason.to_owned())
                } else {
                    (1002, "Protocol violation".to_owned())
                },
            )))
        }
    }
}

/// Append one whole frame to `out`, masked with `mask` as every client frame must be.
pub fn encode(opcode: u8, payload: &[u8], mask: [u8; 4], out: &mut Vec<u8>) {
    header(true, opcode, payload.len(), Some(mask), out);
    out.extend(payload.iter().zip(mask.iter().cycle()).map(|(b, m)| b ^ m));
}

/// Append a frame's header: FIN (`fin`) and `opcode`, the payload's length in the shortest
/// of the three forms, and the mask when there is one (every client frame has one, a
/// server's none). Public so that test servers and the ingest bench build server frames
/// with it.
pub fn header(fin: bool, opcode: u8, len: usize, mask: Option<[u8; 4]>, out: &mut Vec<u8>) {
    out.push(if fin { 0x80 } else { 0 } | opcode);
    let masked = if mask.is_some() { 0x80 } else { 0 };
    match len {
        0..=125 => out.push(masked | len as u8),
        126..=0xffff => {
            out.push(masked | 126);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        _ => {
            out.push(masked | 127);
            out.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
    if let Some(mask) = mask {
        out.extend_from_slice(&mask);
    }
}

/// A close frame's payload: the code and as much of `reason` as fits (123 bytes, whole
/// characters).
pub fn close_payload(code: u16, reason: &str) -> Vec<u8> {
    let mut end = reason.len().min(123);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    let mut payload = code.to_be_bytes().to_vec();
    payload.extend_from_slice(&reason.as_bytes()[..end]);
    payload
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A server frame (unmasked).
    fn frame(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        header(fin, opcode, payload.len(), None, &mut out);
        out.extend_from_slice(payload);
        out
    }

    fn all(bytes: &[u8]) -> Result<Vec<Message>, ReadError> {
        let mut d = Decoder::new(1 << 20);
        let mut buf = BytesMut::from(bytes);
        let mut out = Vec::new();
        while let Some(m) = d.next(&mut buf)? {
            out.push(m);
        }
        assert!(buf.is_empty(), "everything was read");
        Ok(out)
    }

    fn text(s: &str) -> Message {
        Message::Text(s.into())
    }

    #[test]
    fn whole_and_fragmented_messages() {
        let big = "x".repeat(70_000);
        let mut bytes = frame(true, OP_TEXT, b"hello");
        bytes.extend(frame(true, OP_TEXT, "é".repeat(100).as_bytes()));
        bytes.extend(frame(true, OP_TEXT, big.as_bytes()));
        bytes.extend(frame(false, OP_TEXT, b"frag"));
        // A control frame may come between the fragments.
        bytes.extend(frame(true, OP_PING, b"p"));
        bytes.extend(frame(false, OP_CONTINUATION, b"men"));
        bytes.extend(frame(true, OP_CONTINUATION, b"ted"));
        bytes.extend(frame(true, OP_BINARY, &[0, 1, 2]));
        bytes.extend(frame(true, OP_PONG, b""));
        bytes.extend(frame(true, OP_CLOSE, &close_payload(4200, "bye")));
        assert_eq!(
            all(&bytes).unwrap(),
            [
                text("hello"),
                text(&"é".repeat(100)),
                text(&big),
                Message::Ping(Bytes::from_static(b"p")),
                text("fragmented"),
                Message::Binary(3),
                Message::Pong,
                Message::Close(Some((4200, "bye".into()))),
            ]
        );
    }

    #[test]
    fn a_message_arrives_a_byte_at_a_time() {
        let bytes = frame(true, OP_TEXT, "x".repeat(300).as_bytes());
        let mut d = Decoder::new(1 << 20);
        let mut buf = BytesMut::new();
        for (i, &b) in bytes.iter().enumerate() {
            assert_eq!(d.next(&mut buf).unwrap(), None, "at byte {i}");
            buf.extend_from_slice(&[b]);
        }
        assert_eq!(d.next(&mut buf).unwrap(), Some(text(&"x".repeat(300))));
        assert_eq!(d.next(&mut buf).unwrap(), None);
    }

    #[test]
    fn protocol_errors() {
        let cases: [(Vec<u8>, &str); 8] = [
            (vec![0xC1, 0], "reserved bits"),
            (vec![0x81, 0x81, 1, 2, 3, 4, b'x'], "masked"),
            (vec![0x83, 0], "unknown opcode"),
            (frame(true, OP_CONTINUATION, b"x"), "no message to continue"),
            (frame(false, OP_PING, b""), "control frame"),
            (frame(true, OP_PING, &[0; 126]), "control frame"),
            (frame(true, OP_CLOSE, &[3]), "one-byte"),
            (
                [frame(false, OP_TEXT, b"a"), frame(true, OP_TEXT, b"b")].concat(),
                "before the fragmented one ended",
            ),
        ];
        for (bytes, words) in cases {
            let err = all(&bytes).unwrap_err().to_string();
            assert!(err.contains(words), "{err} / {words}");
        }
        assert_eq!(
            all(&frame(true, OP_TEXT, b"a\xffb")),
            Err(ReadError::NotUtf8)
        );
        // Invalid UTF-8 split across fragments is found once the message is whole.
        let split = [
            frame(false, OP_TEXT, "é".as_bytes()),
            frame(true, OP_CONTINUATION, b"\xff"),
        ]
        .concat();
        assert_eq!(all(&split), Err(ReadError::NotUtf8));
    }

    #[test]
    fn utf8_is_judged_as_std_judges_it_at_every_offset() {
        // The vector check works on blocks, with a shortcut for all-ASCII ones: a bad or
        // multi-byte sequence may sit anywhere, across a block's end, in ASCII or in
        // multi-byte text.
        let inserts: [&[u8]; 5] = [
            b"\xff",
            "é".as_bytes(),
            "€".as_bytes(),
            b"\xe2\x82",
            b"\xed\xa0\x80",
        ];
        for filler in ["a", "é"] {
            for len in [0usize, 31, 64, 200] {
                for at in 0..=len {
                    for insert in inserts {
                        let mut payload = filler.repeat(len).into_bytes();
                        let at = at * filler.len();
                        payload.splice(at..at, insert.iter().copied());
                        let got = all(&frame(true, OP_TEXT, &payload));
                        match std::str::from_utf8(&payload) {
                            Ok(want) => {
                                assert_eq!(got, Ok(vec![text(want)]), "{filler} {len} {at}")
                            }
                            Err(_) => {
                                assert_eq!(got, Err(ReadError::NotUtf8), "{filler} {len} {at}")
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn sizes_are_limited_before_anything_is_buffered() {
        let mut d = Decoder::new(1000);
        // Only the header of a 1 GiB frame: refused at once, nothing reserved.
        let mut header = vec![0x81, 127];
        header.extend_from_slice(&(1u64 << 30).to_be_bytes());
        let mut buf = BytesMut::from(&header[..]);
        assert_eq!(
            d.next(&mut buf),
            Err(ReadError::TooLarge {
                size: 1 << 30,
                max: 1000
            })
        );
        assert!(buf.capacity() < 1 << 20);
        // Fragments add up.
        let mut d = Decoder::new(1000);
        let bytes = [
            frame(false, OP_TEXT, &[b'a'; 600]),
            frame(true, OP_CONTINUATION, &[b'a'; 600]),
        ]
        .concat();
        let mut buf = BytesMut::from(&bytes[..]);
        assert!(matches!(
            d.next(&mut buf),
            Err(ReadError::TooLarge { size: 1200, .. })
        ));
        // A ping between fragments does not count against the message.
        let mut d = Decoder::new(1000);
        let bytes = [
            frame(false, OP_TEXT, &[b'a'; 950]),
            frame(true, OP_PING, &[b'p'; 100]),
            frame(true, OP_CONTINUATION, &[b'a'; 50]),
        ]
        .concat();
        let mut buf = BytesMut::from(&bytes[..]);
        assert!(matches!(d.next(&mut buf), Ok(Some(Message::Ping(_)))));
        assert!(matches!(d.next(&mut buf), Ok(Some(Message::Text(t))) if t.len() == 1000));
        // What the header alone shows to be wrong is refused before the payload arrives.
        for header in [[0x83u8, 126, 0xff, 0xff], [0x80, 126, 0xff, 0xff]] {
            let mut buf = BytesMut::from(&header[..]);
            assert!(
                matches!(
                    Decoder::new(1 << 20).next(&mut buf),
                    Err(ReadError::Protocol(_))
                ),
                "{header:?}"
            );
        }
    }

    #[test]
    fn close_frames() {
        assert_eq!(
            all(&frame(true, OP_CLOSE, b"")).unwrap(),
            [Message::Close(None)]
        );
        // 1005 may never be sent: reported as a protocol violation, as tungstenite does.
        assert_eq!(
            all(&frame(true, OP_CLOSE, &close_payload(1005, ""))).unwrap(),
            [Message::Close(Some((1002, "Protocol violation".into())))]
        );
        let long = "é".repeat(100);
        let payload = close_payload(4000, &long);
        assert_eq!(payload.len(), 2 + 122);
        assert!(std::str::from_utf8(&payload[2..]).is_ok());
    }

    #[test]
    fn encoded_frames_are_masked_and_decode_back() {
        for len in [0, 5, 125, 126, 65_535, 65_536] {
            let payload: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
            let mut out = Vec::new();
            let mask = [0x12, 0x34, 0x56, 0x78];
            encode(OP_TEXT, &payload, mask, &mut out);
            assert_eq!(out[0], 0x81);
            assert_ne!(out[1] & 0x80, 0, "masked");
            // Unmask it as a server would, then read it as a server frame.
            let header_len = out.len() - len - 4;
            let mut server = out[..header_len].to_vec();
            server[1] &= 0x7f;
            server.extend(
                out[header_len + 4..]
                    .iter()
                    .zip(mask.iter().cycle())
                    .map(|(b, m)| b ^ m),
            );
            let s = String::from_utf8(payload).unwrap();
            assert_eq!(all(&server).unwrap(), [text(&s)], "len {len}");
        }
    }
}
