/// Finds where a message body ends in the bytes that follow its head, without changing them:
/// the proxy forwards body bytes as they came (chunked framing included) and only needs to know
/// which bytes belong to the message, and which of them are data (for the body limit, and to
/// unchunk an answer for an HTTP/1.0 client).
///
/// Strict about chunked framing (RFC 9112 §7.1), for the same reason as `MessageHead`: hex
/// sizes of at most 15 digits, CRLF after every size line and every chunk's data, no bare CR or
/// LF in extensions and trailers.
struct BodyFramer: Equatable {
    /// How the body's end is known.
    enum Mode: Equatable {
        /// A body of this many bytes remains.
        case length(Int)
        /// Chunked; the state says where in the framing the next byte is.
        case chunked(ChunkState)
        /// The body runs until the connection closes (responses only).
        case untilClose
    }

    /// Where a chunked body's next byte falls.
    enum ChunkState: Equatable {
        case size(value: Int, digits: Int)
        case sizeExtension(value: Int)
        case sizeLineFeed(value: Int)
        case data(remaining: Int)
        case dataCarriageReturn
        case dataLineFeed
        case trailerLineStart
        case trailerLine
        case trailerLineFeed
        case finalLineFeed
    }

    /// The chunked framing broke the rules.
    struct FramingError: Error, Equatable {}

    var mode: Mode
    /// Whether the body's last byte has been seen.
    private(set) var isComplete: Bool

    init(_ mode: Mode) {
        self.mode = mode
        if case .length(0) = mode { isComplete = true } else { isComplete = false }
    }

    /// The framer of a body that follows `head` (RFC 9112 §6.3): nil when the message has no
    /// body. Responses to HEAD and 1xx, 204 and 304 responses never have one.
    static func forBody(of head: MessageHead, isRequest: Bool, requestWasHead: Bool = false) -> BodyFramer? {
        if !isRequest, requestWasHead || head.status < 200 || head.status == 204 || head.status == 304 { return nil }
        if head.isChunked { return BodyFramer(.chunked(.size(value: 0, digits: 0))) }
        if !isRequest, head.hasTransferEncoding { return BodyFramer(.untilClose) }
        if let length = head.contentLength { return length == 0 ? nil : BodyFramer(.length(length)) }
        return isRequest ? nil : BodyFramer(.untilClose)
    }

    /// Reads as much of `bytes` as belongs to the body; calls `onData` with each range of data
    /// bytes (offsets into `bytes`) and returns how many bytes belong to the body. Bytes past
    /// that are the next message's. A chunked body's trailer lines go to `onTrailers` as they
    /// came (`name: value` lines, each with its CRLF), in as many pieces as the reads cut them.
    mutating func consume(
        _ bytes: UnsafeRawBufferPointer, onData: (Range<Int>) -> Void,
        onTrailers: (Range<Int>) -> Void = { _ in }
    ) throws(FramingError) -> Int {
        switch mode {
        case .length(let remaining):
            let taken = min(remaining, bytes.count)
            if taken > 0 { onData(0..<taken) }
            mode = .length(remaining - taken)
            isComplete = remaining == taken
            return taken
        case .untilClose:
            if !bytes.isEmpty { onData(0..<bytes.count) }
            return bytes.count
        case .chunked(var state):
            var index = 0
            // Where the trailer lines read in this call began, while in them.
            var trailersFrom: Int? =
                switch state {
                case .trailerLine, .trailerLineFeed: 0
                default: nil
                }
            defer { if let trailersFrom, index > trailersFrom { onTrailers(trailersFrom..<index) } }
            while index < bytes.count, !isComplete {
                let byte = bytes[index]
                switch state {
                case .size(let value, let digits):
                    if let digit = byte.hexValue {
                        guard digits < 15 else { throw FramingError() }
                        state = .size(value: value * 16 + Int(digit), digits: digits + 1)
                    } else if digits > 0, byte == UInt8(ascii: ";") || byte == .space || byte == .tab {
                        state = .sizeExtension(value: value)
                    } else if digits > 0, byte == .cr {
                        state = .sizeLineFeed(value: value)
                    } else {
                        throw FramingError()
                    }
                case .sizeExtension(let value):
                    if byte == .cr {
                        state = .sizeLineFeed(value: value)
                    } else if !byte.isFieldTextByte {
                        throw FramingError()
                    }
                case .sizeLineFeed(let value):
                    guard byte == .lf else { throw FramingError() }
                    state = value == 0 ? .trailerLineStart : .data(remaining: value)
                case .data(let remaining):
                    let taken = min(remaining, bytes.count - index)
                    onData(index..<index + taken)
                    index += taken
                    state = remaining == taken ? .dataCarriageReturn : .data(remaining: remaining - taken)
                    continue
                case .dataCarriageReturn:
                    guard byte == .cr else { throw FramingError() }
                    state = .dataLineFeed
                case .dataLineFeed:
                    guard byte == .lf else { throw FramingError() }
                    state = .size(value: 0, digits: 0)
                case .trailerLineStart:
                    if byte == .cr {
                        if let from = trailersFrom, index > from { onTrailers(from..<index) }
                        trailersFrom = nil
                        state = .finalLineFeed
                    } else if byte.isTokenCharacter {
                        trailersFrom = trailersFrom ?? index
                        state = .trailerLine
                    } else {
                        throw FramingError()
                    }
                case .trailerLine:
                    if byte == .cr {
                        state = .trailerLineFeed
                    } else if !byte.isFieldTextByte {
                        throw FramingError()
                    }
                case .trailerLineFeed:
                    guard byte == .lf else { throw FramingError() }
                    state = .trailerLineStart
                case .finalLineFeed:
                    guard byte == .lf else { throw FramingError() }
                    isComplete = true
                }
                index += 1
            }
            mode = .chunked(state)
            return index
        }
    }
}

extension UInt8 {
    /// The value of a hex digit.
    fileprivate var hexValue: UInt8? {
        switch self {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return self - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return self - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return self - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
