/// A failure inside a function; the executor reports it as `error calling NAME: message`.
struct FunctionFailure: Error {
    var message: String

    init(_ message: String) {
        self.message = message
    }
}

/// What a function parameter accepts, mirroring the Go parameter types that matter here.
enum ParameterKind: Sendable {
    /// `reflect.Value` in Go: the value as is, a missing key stays missing (`not`, `len`, `eq`...).
    case raw
    /// `interface{}`: a missing key arrives as `.null`.
    case any
    /// `string`: anything else is a type error.
    case string
    /// `int`: integers only.
    case integer
    /// `bool`: booleans only.
    case boolean
    /// `map[string]interface{}`: maps only; a missing value or nil arrives as an empty map.
    case object

    /// The Go type name for error messages.
    var goName: String {
        switch self {
        case .raw: return "reflect.Value"
        case .any: return "interface {}"
        case .string: return "string"
        case .integer: return "int"
        case .boolean: return "bool"
        case .object: return "map[string]interface {}"
        }
    }
}

/// A function callable from templates: its parameters and its body.
///
/// Arguments arrive checked against `parameters` (and `variadic` for the rest), so bodies may
/// read them with the typed accessors on `[GoValue?]`. A nil result is Go's "no value".
struct TemplateFunction: Sendable {
    typealias Body = @Sendable (_ arguments: [GoValue?], _ context: FunctionContext) throws(FunctionFailure) -> GoValue?

    var parameters: [ParameterKind]
    var variadic: ParameterKind?
    /// `and` / `or`: evaluated lazily by the executor, which stops at the deciding argument.
    var shortCircuit: ShortCircuit?
    var body: Body

    enum ShortCircuit: Sendable {
        case and
        case or
    }

    init(_ parameters: [ParameterKind], variadic: ParameterKind? = nil, body: @escaping Body) {
        self.parameters = parameters
        self.variadic = variadic
        self.shortCircuit = nil
        self.body = body
    }

    init(shortCircuit: ShortCircuit) {
        self.parameters = [.raw]
        self.variadic = .raw
        self.shortCircuit = shortCircuit
        self.body = { _, _ throws(FunctionFailure) in nil }
    }

    /// The parameter kind for the argument at `index`, or nil past the end of a fixed list.
    func parameter(at index: Int) -> ParameterKind? {
        index < parameters.count ? parameters[index] : variadic
    }
}

/// What a function may know about the render it runs in.
struct FunctionContext: Sendable {
    /// Results (strings, lists) larger than this are refused before they are built.
    var sizeLimit: Int
}

/// Every function a template may call: Go's builtins and the sprig subset Argo relies on.
enum FunctionTable {
    static let functions: [String: TemplateFunction] = {
        var table = Builtins.functions
        for (name, function) in SprigMath.functions { table[name] = function }
        for (name, function) in SprigStrings.functions { table[name] = function }
        for (name, function) in SprigCollections.functions { table[name] = function }
        return table
    }()

    static let names = Set(functions.keys)
}

extension Array where Element == GoValue? {
    /// The argument as a value, a missing one as `.null`.
    func value(_ index: Int) -> GoValue {
        index < count ? (self[index] ?? .null) : .null
    }

    /// A `.string` parameter's value.
    func string(_ index: Int) -> String {
        if index < count, case .string(let text)? = self[index] { return text }
        return ""
    }

    /// An `.integer` parameter's value.
    func integer(_ index: Int) -> Int64 {
        if index < count, case .int(let integer)? = self[index] { return integer }
        return 0
    }

    /// An `.object` parameter's members.
    func object(_ index: Int) -> [String: GoValue] {
        if index < count, case .object(let members)? = self[index] { return members }
        return [:]
    }

    /// A `.boolean` parameter's value.
    func boolean(_ index: Int) -> Bool {
        if index < count, case .bool(let flag)? = self[index] { return flag }
        return false
    }
}
