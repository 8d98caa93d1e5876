/// The value of one sample in Prometheus' text format: the line that starts with `sample` and a
/// space (a name, with its labels when it has any, such as `response_status{status="200"}`);
/// nil when there is no such line or its value is not a number.
public func sampleValue<Text: StringProtocol>(_ sample: String, in text: Text) -> Double? {
    for line in text.split(separator: "\n") where line.hasPrefix(sample + " ") {
        return line.split(separator: " ").last.flatMap { Double($0) }
    }
    return nil
}
