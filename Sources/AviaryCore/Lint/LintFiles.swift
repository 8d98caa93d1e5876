import AviaryModel
import Foundation

/// Reads the `-f` arguments of `aviary lint`: files, directories (their `.yaml`, `.yml` and
/// `.json` files, sorted) and `-` for stdin.
public enum LintFiles {
    /// The inputs read, and a diagnostic for each path that could not be read.
    public static func read(_ paths: [String]) -> (inputs: [LintInput], unreadable: [Diagnostic]) {
        var inputs: [LintInput] = []
        var unreadable: [Diagnostic] = []
        let manager = FileManager.default
        for path in paths {
            if path == "-" {
                inputs.append(LintInput(file: "-", data: FileHandle.standardInput.readDataToEndOfFile()))
                continue
            }
            var isDirectory: ObjCBool = false
            guard manager.fileExists(atPath: path, isDirectory: &isDirectory) else {
                unreadable.append(
                    Diagnostic(file: path, resource: nil, path: "", message: "no such file or directory"))
                continue
            }
            var files = [path]
            if isDirectory.boolValue {
                let names = (try? manager.contentsOfDirectory(atPath: path)) ?? []
                files = names.filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") || $0.hasSuffix(".json") }
                    .sorted().map { (path as NSString).appendingPathComponent($0) }
                if files.isEmpty {
                    unreadable.append(
                        Diagnostic(
                            file: path, resource: nil, path: "",
                            message: "directory holds no .yaml, .yml or .json files"))
                }
            }
            for file in files {
                do {
                    inputs.append(LintInput(file: file, data: try Data(contentsOf: URL(fileURLWithPath: file))))
                } catch {
                    unreadable.append(
                        Diagnostic(
                            file: file, resource: nil, path: "",
                            message: "cannot read: \((error as NSError).localizedDescription)"))
                }
            }
        }
        return (inputs, unreadable)
    }
}
