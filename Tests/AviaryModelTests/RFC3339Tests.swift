import AviaryModel
import Foundation
import Testing

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

    @Test(arguments: [
        (1_800_000_000.0, "2027-01-15T08:00:00Z"), (1_800_000_000.25, "2027-01-15T08:00:00.250Z"),
        (946_684_799.9996, "2000-01-01T00:00:00Z"), (-0.5, "1969-12-31T23:59:59.500Z"),
    ])
    func formatsMilliseconds(seconds: Double, text: String) {
        #expect(RFC3339.format(Date(timeIntervalSince1970: seconds), milliseconds: true) == text)
    }

    @Test func wholeSecondsRoundDown() {
        #expect(RFC3339.format(Date(timeIntervalSince1970: 1_786_960_800.999)) == "2026-08-17T10:00:00Z")
    }
}
