import Testing

@testable import AviaryRouter

@Suite("Weighted choice and even shares")
struct WeightedScheduleTests {
    @Test(
        "10,000 picks give each backend exactly its share",
        arguments: [1, 5, 10, 33, 50, 100]
    )
    func exactShares(canaryWeight: Int) throws {
        let schedule = try #require(WeightedSchedule(weights: [100 - canaryWeight, canaryWeight]))
        var counts = [0, 0]
        for sequence in 0..<10_000 {
            counts[schedule.pick(sequence)] += 1
        }
        #expect(counts[1] == canaryWeight * 100)
        #expect(counts[0] == (100 - canaryWeight) * 100)
    }

    @Test("picks are spread evenly: 90/10 sends one request in every ten to the canary")
    func smooth() throws {
        let schedule = try #require(WeightedSchedule(weights: [90, 10]))
        #expect(schedule.period.count == 10)
        #expect(schedule.period.filter { $0 == 1 }.count == 1)
        let threeWay = try #require(WeightedSchedule(weights: [5, 1, 1]))
        #expect(threeWay.period == [0, 0, 1, 0, 2, 0, 0])
    }

    @Test("zero weights are allowed beside a positive one; all-zero or negative weights are not")
    func invalidWeights() {
        #expect(WeightedSchedule(weights: [100, 0])?.period == [0])
        #expect(WeightedSchedule(weights: [0, 0]) == nil)
        #expect(WeightedSchedule(weights: [-1, 2]) == nil)
        #expect(WeightedSchedule(weights: []) == nil)
    }

    @Test("a mirror share selects exactly its percent of requests", arguments: [0.0, 1, 5, 12.5, 50, 100])
    func mirrorShare(percent: Double) {
        let share = EvenShare(percent: percent)
        let selected = (0..<10_000).filter(share.isSelected).count
        #expect(selected == Int(percent * 100))
    }

    @Test("at 5% every 20th request is mirrored")
    func mirrorSpacing() {
        let share = EvenShare(percent: 5)
        #expect((0..<60).filter(share.isSelected) == [19, 39, 59])
    }
}
