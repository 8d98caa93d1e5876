// Writes resources one by one into the store in the directory given as the first argument and
// prints "ack N" after each write returned: the durability test kills this process with SIGKILL
// at an arbitrary instant and then expects every acknowledged resource in the store.
import AviaryStore
import Foundation

let store = try AviaryStore(stateDirectory: CommandLine.arguments[1])
var index = 0
while true {
    let manifest = """
        {"apiVersion":"argoproj.io/v1alpha1","kind":"Rollout","metadata":{"name":"r-\(index)"},
         "spec":{"replicas":\(index % 7)}}
        """
    let (resource, _) = try store.apply(Data(manifest.utf8))
    _ = try store.updateStatus(resource.key, status: Data(#"{"phase":"Healthy","n":\#(index)}"#.utf8))
    // Unbuffered: the line is in the file the moment the write is acknowledged.
    FileHandle.standardOutput.write(Data("ack \(index)\n".utf8))
    index += 1
}
