import Testing

@testable import AviaryModel
