// libFuzzer entry point for the Machinefile lexer, parser, validator and
// lowering. Built with the module's sources by fuzz/run.sh:
//   swiftc -sanitize=fuzzer,address -parse-as-library Sources/Machinefile/*.swift fuzz/MachinefileFuzz.swift
// Any input must give a spec or diagnostics: never a crash, hang or runaway memory.

@_cdecl("LLVMFuzzerTestOneInput")
public func machinefileFuzz(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
  let source = String(decoding: UnsafeBufferPointer(start: start, count: count), as: UTF8.self)
  let result = Machinefile.check(source: source, fileName: "Machinefile", environment: ["HOME": "/home/fuzz", "EMPTY": ""])
  for diagnostic in result.diagnostics { _ = diagnostic.rendered }
  if let spec = result.spec {
    precondition(result.diagnostics.allSatisfy { $0.severity != .error }, "a spec came with errors")
    // No machines only when every machine block says `count: 0` (which the language allows).
    precondition(
      !spec.machines.isEmpty || source.contains("count"), "a valid file lowers to at least one machine")
  }
  return 0
}
