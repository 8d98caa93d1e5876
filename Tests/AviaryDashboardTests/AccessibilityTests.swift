import AviaryDashboard
import Foundation
import Testing

/// The stylesheet's colours against WCAG 2's contrast rule for text (4.5:1, level AA), in both
/// themes: every colour the pages write text in, on the page and on panels.
@Suite struct AccessibilityTests {
    /// The custom properties of each `:root { ... }` block: the light theme, then the dark one.
    static func themes() -> [[String: String]] {
        let css = DashboardAssets.stylesheet
        var themes: [[String: String]] = []
        var rest = Substring(css)
        while let start = rest.range(of: ":root {"), let end = rest[start.upperBound...].firstIndex(of: "}") {
            var colours: [String: String] = [:]
            for declaration in rest[start.upperBound..<end].split(separator: ";") {
                let parts = declaration.split(separator: ":", maxSplits: 1).map {
                    $0.trimmingCharacters(in: .whitespacesAndNewlines)
                }
                if parts.count == 2, parts[0].hasPrefix("--"), parts[1].hasPrefix("#") {
                    colours[String(parts[0].dropFirst(2))] = parts[1]
                }
            }
            themes.append(colours)
            rest = rest[end...]
        }
        return themes
    }

    static func luminance(_ hex: String) -> Double {
        let value = Int(hex.dropFirst(), radix: 16) ?? 0
        func channel(_ shift: Int) -> Double {
            let c = Double((value >> shift) & 0xFF) / 255
            return c <= 0.03928 ? c / 12.92 : pow((c + 0.055) / 1.055, 2.4)
        }
        return 0.2126 * channel(16) + 0.7152 * channel(8) + 0.0722 * channel(0)
    }

    static func contrast(_ one: String, _ two: String) -> Double {
        let (a, b) = (luminance(one), luminance(two))
        return (max(a, b) + 0.05) / (min(a, b) + 0.05)
    }

    @Test func thereIsALightAndADarkTheme() {
        let themes = Self.themes()
        #expect(themes.count == 2)
        #expect(DashboardAssets.stylesheet.contains("@media (prefers-color-scheme: dark)"))
        #expect(themes.allSatisfy { $0["bg"] != nil && $0["fg"] != nil })
    }

    @Test(arguments: ["fg", "muted", "link", "ok", "warn", "bad", "pause", "stable", "canary", "focus"])
    func textColoursPassAA(colour: String) throws {
        for (index, theme) in Self.themes().enumerated() {
            let text = try #require(theme[colour])
            for background in ["bg", "panel"] {
                let ratio = Self.contrast(text, try #require(theme[background]))
                #expect(ratio >= 4.5, "theme \(index): --\(colour) \(text) on --\(background) is \(ratio):1")
            }
        }
    }

    @Test func theLostDaemonBannerIsReadable() throws {
        // The banner writes --bg on --bad.
        #expect(DashboardAssets.stylesheet.contains(".banner { background: var(--bad); color: var(--bg);"))
        for theme in Self.themes() {
            #expect(Self.contrast(try #require(theme["bg"]), try #require(theme["bad"])) >= 4.5)
        }
    }

    @Test func theKnownRatiosComeOut() {
        #expect(abs(Self.contrast("#000000", "#ffffff") - 21) < 0.01)
        #expect(abs(Self.contrast("#777777", "#ffffff") - 4.48) < 0.01)
    }
}
