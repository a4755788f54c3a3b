import Foundation
import Testing

@testable import Core

/// `.caravan/machines/NAME/state.json` in the forms earlier Caravans wrote: read
/// into the typed record, and written back with the same keys and values.
struct MachineRecordTests {
  static func record(_ extra: String) throws -> MachineRecord {
    let json = """
      {"accelerator":"tcg","boxName":"caravan/debian-12","boxVersion":"0","createdAt":"2026-12-01T10:00:00Z",
       "domainName":"hello_web","domainUUID":"u","forwards":["tcp 127.0.0.1:2200 -> 22","udp [::1]:5353 -> 53"],
       "keyReplaced":true,"libvirtURI":"qemu:///session","provisioned":["first"],"sshPort":2200\(extra)}
      """
    return try JSONDecoder().decode(MachineRecord.self, from: Data(json.utf8))
  }

  @Test func recordsOfEveryEarlierFormRead() throws {
    let oldest = try Self.record("")
    #expect(oldest.firstUp == .finished, "records from before upCompleted count as finished")
    #expect(oldest.accelerator == .tcg)
    #expect(oldest.forwards.map(\.description) == ["tcp 127.0.0.1:2200 -> 22", "udp [::1]:5353 -> 53"])
    #expect(oldest.forwards[1].hostIP == "[::1]" && oldest.forwards[1].host == 5353)
    #expect(try Self.record(#","upCompleted":false"#).firstUp == .unfinished)
    #expect(try Self.record(#","upCompleted":true"#).firstUp == .finished)
    #expect(try Self.record(#","upCompleted":false,"identityPending":true"#).firstUp == .identityPending)
    #expect(
      try Self.record(#","upCompleted":false,"dhcpAddresses":{"52:54:00:00:00:01":"10.1.0.5"}"#)
        .dhcpAddresses == ["52:54:00:00:00:01": "10.1.0.5"])
    #expect(throws: DecodingError.self, "an accelerator Caravan does not know is not taken for one") {
      try Self.badAccelerator()
    }
  }

  static func badAccelerator() throws {
    let json =
      #"{"accelerator":"hvf","boxName":"b","boxVersion":"0","createdAt":"","domainName":"d","domainUUID":"u","forwards":[],"keyReplaced":false,"libvirtURI":"x","provisioned":[],"sshPort":1}"#
    _ = try JSONDecoder().decode(MachineRecord.self, from: Data(json.utf8))
  }

  @Test func recordsAreWrittenAsBefore() throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    func written(_ record: MachineRecord) throws -> [String: Any] {
      try #require(try JSONSerialization.jsonObject(with: try encoder.encode(record)) as? [String: Any])
    }
    var record = try Self.record(#","upCompleted":false,"identityPending":true"#)
    var json = try written(record)
    #expect(json["upCompleted"] as? Bool == false && json["identityPending"] as? Bool == true)
    #expect(json["forwards"] as? [String] == ["tcp 127.0.0.1:2200 -> 22", "udp [::1]:5353 -> 53"])
    #expect(json["accelerator"] as? String == "tcg")
    record.firstUp = .unfinished
    json = try written(record)
    #expect(json["upCompleted"] as? Bool == false && json["identityPending"] == nil)
    record.firstUp = .finished
    json = try written(record)
    #expect(json["upCompleted"] as? Bool == true && json["identityPending"] == nil)
    #expect(try JSONDecoder().decode(MachineRecord.self, from: try encoder.encode(record)) == record)
  }
}
