import Foundation
import Testing

@testable import AviaryCore

@Suite struct RFC3339Tests {
    @Test(arguments: [
        (0.0, "1970-01-01T00:00:00Z"),
        (951_782_400.0, "2000-02-29T00:00:00Z"),
        (1_786_960_800.0, "2026-08-17T10:00:00Z"),
        (4_102_444_799.0, "2099-12-31T23:59:59Z"),
    ])
    func formatsAndParses(seconds: Double, text: String) {
        #expect(RFC3339.format(Date(timeIntervalSince1970: seconds)) == text)
        #expect(RFC3339.parse(text) == Date(timeIntervalSince1970: seconds))
    }

    @Test func parsesOffsetsAndFractions() {
        #expect(RFC3339.parse("2026-08-17T12:00:00+02:00") == Date(timeIntervalSince1970: 1_786_960_800))
        #expect(RFC3339.parse("2026-08-17T10:00:00.5Z") == Date(timeIntervalSince1970: 1_786_960_800.5))
        #expect(RFC3339.parse("2026-08-17 11:20") == nil)
        #expect(RFC3339.parse("2026-13-17T11:20:00Z") == nil)
    }
}
