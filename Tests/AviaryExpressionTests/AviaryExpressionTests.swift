import Testing

@testable import AviaryExpression
