import Boxes
import Foundation
import Libvirt
import Support
import TestSupport
import Testing

@testable import LibvirtDriver

/// Box volumes in a storage pool: completion marks, removal on an inactive
/// pool, and removal against an `up` that holds the box. On libvirt's
/// `test:///default` driver (a real driver, no daemon; it cannot upload into a
/// volume) with a pool of each test's own, and on a real `dir` pool through
/// qemu:///system where an upload is needed.
struct BoxPoolTests {
  let root = NSTemporaryDirectory() + "caravan-pool-\(UUID().uuidString)"
  let poolName = "caravan-t-\(UUID().uuidString.prefix(8).lowercased())"
  var store: BoxStore { BoxStore(root: root + "/boxes") }
  var locks: String { root + "/locks" }

  /// `qemu:///system` is reachable (libvirtd running, as `make test` has it) and we are root.
  static let systemLibvirt: Bool = getuid() == 0 && (try? Connection(uri: "qemu:///system")) != nil

  /// A box whose image is `image` (4 KiB of zeros by default).
  func installBox(_ name: String = "t/box", image: Data = Data(count: 4096)) throws -> InstalledBox {
    try store.install(name: name, version: "1.0", force: false, source: "test") { staging in
      try Data(#"{"provider":"libvirt","format":"qcow2","virtual_size":1}"#.utf8).write(
        to: URL(fileURLWithPath: staging + "/metadata.json"))
      try image.write(to: URL(fileURLWithPath: staging + "/box.img"))
    }
  }

  /// A started `dir` pool of this test, at `path`.
  func makePool(_ connection: Connection, path: String) throws -> StoragePool {
    let pool = try connection.definePool(
      xml: "<pool type='dir'><name>\(poolName)</name><target><path>\(path)</path></target></pool>", name: poolName)
    try pool.build()
    try pool.start()
    return pool
  }

  func dropPool(_ connection: Connection) {
    guard let pool = try? connection.pool(named: poolName) else { return }
    if (try? pool.isActive()) == true {
      for volume in (try? pool.volumes()) ?? [] { try? volume.delete() }
      try? pool.stop()
    }
    try? pool.undefine()
  }

  /// A domain as `up` defines it, naming `box`'s volume in its Caravan metadata.
  func defineMachine(_ connection: Connection, name: String, using box: InstalledBox) throws -> Domain {
    let xml = """
      <domain type='test'>
        <name>\(name)</name>
        <memory unit='MiB'>64</memory>
        <os><type>hvm</type></os>
        <metadata><caravan:machine xmlns:caravan='\(DomainDefinition.metadataNamespace)'>\
      <caravan:project>/p</caravan:project><caravan:name>web</caravan:name><caravan:pool>\(poolName)</caravan:pool>\
      <caravan:box version='\(box.version)' volume='\(box.volumeName)'>\(box.name)</caravan:box>\
      </caravan:machine></metadata>
      </domain>
      """
    return try connection.defineDomain(xml: xml, name: name)
  }

  /// An unmarked box volume, as a kill during the upload leaves it.
  func plantUnfinished(_ box: InstalledBox, in pool: StoragePool) throws -> Volume {
    try pool.createVolume(
      xml: "<volume><name>\(box.volumeName)</name><capacity unit='bytes'>4096</capacity></volume>",
      name: box.volumeName)
  }

  @Test func anUnmarkedVolumeInUseIsRefusedByNameNeverTrusted() throws {
    defer { try? FileManager.default.removeItem(atPath: root) }
    let connection = try Connection(uri: "test:///default")
    defer { dropPool(connection) }
    let pool = try makePool(connection, path: "/\(poolName)")
    let box = try installBox()
    _ = try plantUnfinished(box, in: pool)
    let machine = try defineMachine(connection, name: "caravan-t-\(poolName)", using: box)
    defer { try? machine.undefine() }

    var said: [String] = []
    let error = try #require(throws: CaravanError.self) {
      try BoxPool(connection: connection, name: poolName).importBox(box, lockDirectory: locks) { said.append($0) }
    }
    #expect(
      error.message
        == "box 't/box' (1.0) volume '\(box.volumeName)' in storage pool '\(poolName)' has no completion mark, so it may hold part of the image only, and web (/p) uses it"
    )
    #expect(error.hint?.hasPrefix("Destroy that machine (`caravan destroy` in its project)") == true, "\(error)")
    #expect(said.isEmpty)
    #expect(try pool.volume(named: box.volumeName) != nil, "the machine's image is left alone")
    #expect(try pool.volume(named: box.volumeName + ".complete") == nil, "and not marked")
  }

  @Test func aBoxRemovalSeesMachinesOnAnEarlierImageOfTheVersion() throws {
    defer { try? FileManager.default.removeItem(atPath: root) }
    let connection = try Connection(uri: "test:///default")
    defer { dropPool(connection) }
    let pool = try makePool(connection, path: "/\(poolName)")
    let before = try installBox()
    _ = try plantUnfinished(before, in: pool)
    let boxes = BoxPool(connection: connection, name: poolName)
    try boxes.createMark(for: before.volumeName, in: pool)
    let machine = try defineMachine(connection, name: "caravan-t-\(poolName)", using: before)
    defer { try? machine.undefine() }

    var image = Data(count: 4096)
    image[0] = 1
    let after = try store.install(name: "t/box", version: "1.0", force: true, source: "test") { staging in
      try Data(#"{"provider":"libvirt","format":"qcow2","virtual_size":1}"#.utf8).write(
        to: URL(fileURLWithPath: staging + "/metadata.json"))
      try image.write(to: URL(fileURLWithPath: staging + "/box.img"))
    }
    #expect(after.volumeName != before.volumeName, "a new image, a new volume")
    #expect(after.versionVolumePrefix == before.versionVolumePrefix)
    #expect(try boxes.machinesUsing(after) == ["web (/p)"])
    let hypervisor = try LibvirtHypervisor(uri: "test:///default", pool: poolName, lockDirectory: locks)
    #expect(try hypervisor.removeEarlierImages(after, progress: { _ in }) == ["web (/p)"])
    #expect(try pool.volume(named: before.volumeName) != nil, "kept for the machine on it")
    let error = try #require(throws: CaravanError.self) { try store.remove(after, volumes: hypervisor, force: false) }
    #expect(error.message == "box 't/box' (1.0) is used by machine web (/p)")

    try machine.undefine()
    var said: [String] = []
    #expect(try hypervisor.removeEarlierImages(after, progress: { said.append($0) }).isEmpty)
    #expect(
      said == [
        "removed volume '\(before.volumeName)' of an earlier image of box 't/box' (1.0): no machine uses it"
      ])
    #expect(try pool.volumes().isEmpty, "the earlier image and its mark are gone")
  }

  @Test func anUnmarkedVolumeNobodyUsesIsDeletedAndImportedAgain() throws {
    defer { try? FileManager.default.removeItem(atPath: root) }
    let connection = try Connection(uri: "test:///default")
    defer { dropPool(connection) }
    let pool = try makePool(connection, path: "/\(poolName)")
    let box = try installBox()
    _ = try plantUnfinished(box, in: pool)
    var said: [String] = []
    // The test driver cannot upload, so the new import fails after the old volume is gone.
    let error = try #require(throws: CaravanError.self) {
      try BoxPool(connection: connection, name: poolName).importBox(box, lockDirectory: locks) { said.append($0) }
    }
    #expect(error.message.contains("virStorageVolUpload"), "\(error)")
    #expect(
      said.first?.hasSuffix("was left unfinished by an interrupted import; importing it again") == true, "\(said)")
    #expect(said.last?.hasPrefix("importing box 't/box' (1.0) into storage pool '\(poolName)'") == true, "\(said)")
    #expect(try pool.volume(named: box.volumeName) == nil, "neither the old nor the failed new volume is left")
    #expect(try pool.volume(named: box.volumeName + ".complete") == nil)
  }

  @Test(.enabled(if: BoxPoolTests.systemLibvirt, "needs root and libvirtd (qemu:///system)"))
  func anInterruptedImportIsReplacedOnARealPool() throws {
    defer { try? FileManager.default.removeItem(atPath: root) }
    var image = Data(count: 1 << 20)
    for i in stride(from: 0, to: image.count, by: 997) { image[i] = UInt8(truncatingIfNeeded: i / 997 + 1) }
    let box = try installBox(image: image)
    let connection = try Connection(uri: "qemu:///system")
    defer { dropPool(connection) }
    let pool = try makePool(connection, path: root + "/pool")

    // A kill half way through the upload: a volume with half the bytes, no mark.
    let half = root + "/half.img"
    try image.prefix(image.count / 2).write(to: URL(fileURLWithPath: half))
    let unfinished = try plantUnfinished(box, in: pool)
    try unfinished.upload(fromFile: half)

    var said: [String] = []
    let boxes = BoxPool(connection: connection, name: poolName)
    let volumes = try boxes.importBox(box, lockDirectory: locks) { said.append($0) }
    #expect(said.first?.contains("left unfinished by an interrupted import") == true, "\(said)")
    let path = try #require(volumes.first).path()
    #expect(FileManager.default.contents(atPath: path) == image, "the whole image, not the half")
    #expect(try pool.volume(named: box.volumeName + ".complete") != nil)

    said.removeAll()
    _ = try boxes.importBox(box, lockDirectory: locks) { said.append($0) }
    #expect(said.isEmpty)

    // The box's saved warm state (`up --warm`) lives beside it and goes with it.
    _ = try pool.createVolume(
      xml:
        "<volume><name>\(box.volumeName).warm.qcow2</name><capacity unit='bytes'>1024</capacity><target><format type='raw'/></target></volume>",
      name: box.volumeName + ".warm.qcow2")
    #expect(try boxes.removeBoxVolume(box))
    #expect(try pool.volume(named: box.volumeName) == nil)
    #expect(try pool.volume(named: box.volumeName + ".complete") == nil, "the mark goes with the volume")
    #expect(try pool.volume(named: box.volumeName + ".warm.qcow2") == nil, "the warm state goes with the box")
    #expect(try !boxes.removeBoxVolume(box), "nothing left to remove")
  }

  @Test(.enabled(if: BoxPoolTests.systemLibvirt, "needs root and libvirtd (qemu:///system)"))
  func aReplacedImageGetsANewVolumeAndTheEarlierOneGoesWhenUnused() throws {
    defer { try? FileManager.default.removeItem(atPath: root) }
    let connection = try Connection(uri: "qemu:///system")
    defer { dropPool(connection) }
    let pool = try makePool(connection, path: root + "/pool")
    let boxes = BoxPool(connection: connection, name: poolName)
    // 1 MiB: more than the empty qcow2 libvirt makes before the upload overwrites it.
    func image(_ byte: UInt8) -> Data { Data(repeating: byte, count: 1 << 20) }
    func replace(with data: Data) throws -> InstalledBox {
      try store.install(name: "t/box", version: "1.0", force: true, source: "test") { staging in
        try Data(#"{"provider":"libvirt","format":"qcow2","virtual_size":1}"#.utf8).write(
          to: URL(fileURLWithPath: staging + "/metadata.json"))
        try data.write(to: URL(fileURLWithPath: staging + "/box.img"))
      }
    }
    let first = try installBox(image: image(1))
    let firstPath = try #require(try boxes.importBox(first, lockDirectory: locks) { _ in }.first).path()
    _ = try pool.createVolume(
      xml:
        "<volume><name>\(first.volumeName).warm.qcow2</name><capacity unit='bytes'>1024</capacity><target><format type='raw'/></target></volume>",
      name: first.volumeName + ".warm.qcow2")

    // `box add --force` of another image under the same version: new machines get the new image.
    let second = try replace(with: image(2))
    #expect(second.volumeName != first.volumeName)
    var said: [String] = []
    let secondVolume = try #require(try boxes.importBox(second, lockDirectory: locks) { said.append($0) }.first)
    #expect(FileManager.default.contents(atPath: try secondVolume.path()) == image(2), "the new image, not the old")
    #expect(
      said.last == "removed volume '\(first.volumeName)' of an earlier image of box 't/box' (1.0): no machine uses it",
      "\(said)")
    let names = Set(try pool.volumes().map(\.name))
    #expect(
      names == [second.volumeName, second.volumeName + ".complete"],
      "the unused earlier image, mark and warm state are gone")
    #expect(!FileManager.default.fileExists(atPath: firstPath))

    // A machine's disk on the second image keeps it through the next replacement.
    let disk = try pool.createVolume(
      xml: """
        <volume><name>m.qcow2</name><capacity unit='bytes'>\(64 << 10)</capacity><target><format type='qcow2'/></target>\
        <backingStore><path>\(try secondVolume.path())</path><format type='raw'/></backingStore></volume>
        """, name: "m.qcow2")
    let third = try replace(with: image(3))
    let thirdVolume = try #require(try boxes.importBox(third, lockDirectory: locks) { _ in }.first)
    #expect(FileManager.default.contents(atPath: try thirdVolume.path()) == image(3))
    #expect(try pool.volume(named: second.volumeName) != nil, "the machine's image stays")
    #expect(try boxes.machinesUsing(third) == ["disk 'm.qcow2'"])

    // `box remove` takes every image of the version once nothing uses them.
    try disk.delete()
    #expect(try boxes.removeBoxVolume(third))
    let left = try pool.volumes().map(\.name)
    #expect(left.isEmpty, "\(left)")
  }

  @Test func removalStartsAnInactivePoolAndSaysWhenThereWasNoVolume() throws {
    defer { try? FileManager.default.removeItem(atPath: root) }
    let connection = try Connection(uri: "test:///default")
    defer { dropPool(connection) }
    let pool = try makePool(connection, path: "/\(poolName)")
    let box = try installBox()
    _ = try plantUnfinished(box, in: pool)
    try BoxPool(connection: connection, name: poolName).createMark(for: box.volumeName, in: pool)
    try pool.stop()

    let hypervisor = try LibvirtHypervisor(uri: "test:///default", pool: poolName, lockDirectory: locks)
    #expect(try store.remove(box, volumes: hypervisor, force: false) == .removedWithVolume)
    #expect(try pool.isActive(), "Caravan's pool was started to reach the volume")
    #expect(try pool.volumes().isEmpty, "volume and mark are gone")
    #expect(try store.list().isEmpty)

    let other = try installBox("t/other")
    let noPool = try LibvirtHypervisor(uri: "test:///default", pool: poolName + "-none", lockDirectory: locks)
    #expect(try store.remove(other, volumes: noPool, force: false) == .removedWithoutVolume)
  }

  @Test(.enabled(if: BoxPoolTests.systemLibvirt, "needs root and libvirtd (qemu:///system)"))
  func removalFromAPoolThatDoesNotStartFailsAndKeepsTheBox() throws {
    defer { try? FileManager.default.removeItem(atPath: root) }
    let connection = try Connection(uri: "qemu:///system")
    defer { dropPool(connection) }
    let missing = root + "/no-such-folder"
    _ = try connection.definePool(
      xml: "<pool type='dir'><name>\(poolName)</name><target><path>\(missing)</path></target></pool>", name: poolName)
    let box = try installBox()
    let hypervisor = try LibvirtHypervisor(uri: "qemu:///system", pool: poolName, lockDirectory: locks)
    let error = try #require(throws: CaravanError.self) { try store.remove(box, volumes: hypervisor, force: false) }
    #expect(
      error.message.hasPrefix(
        "cannot remove the volume of box 't/box' (1.0): storage pool '\(poolName)' on qemu:///system is inactive and does not start: "
      ), "\(error)")
    #expect(error.message.contains(missing), "libvirt's own reason: \(error)")
    #expect(
      error.hint
        == "Start it (`virsh -c qemu:///system pool-start \(poolName)`) and run the removal again; the box stays installed until then."
    )
    #expect(try store.list().map(\.name) == ["t/box"])
  }

  @Test func removalWaitsForAnUpHoldingTheBoxAndThenSeesItsMachine() throws {
    defer { try? FileManager.default.removeItem(atPath: root) }
    let connection = try Connection(uri: "test:///default")
    defer { dropPool(connection) }
    _ = try makePool(connection, path: "/\(poolName)")
    let box = try installBox()

    // `up` has chosen the box and holds its use lock (shared) until the domain is defined.
    let use = try store.useLock(for: box)
    let outcome = Locked<[String]>([])
    let done = DispatchSemaphore(value: 0)
    let (storeRoot, lockDirectory, pool) = (store.root, locks, poolName)
    Thread.detachNewThread {
      do {
        let hypervisor = try LibvirtHypervisor(uri: "test:///default", pool: pool, lockDirectory: lockDirectory)
        let removal = try BoxStore(root: storeRoot).remove(
          box, volumes: hypervisor, force: false, waitNotice: { notice in outcome.withLock { $0.append(notice) } })
        outcome.withLock { $0.append("removed: \(removal)") }
      } catch {
        outcome.withLock { $0.append("refused: \((error as? CaravanError)?.message ?? "\(error)")") }
      }
      done.signal()
    }
    Thread.sleep(forTimeInterval: 0.3)
    #expect(
      outcome.current == [
        "box 't/box' (1.0) is in use by a `caravan up` that is defining its machine; waiting"
      ])
    #expect(try store.list().count == 1)
    let machine = try defineMachine(connection, name: "caravan-t-\(poolName)", using: box)
    defer { try? machine.undefine() }
    use.unlock()
    #expect(done.wait(timeout: .now() + 10) == .success)
    #expect(outcome.current.last == "refused: box 't/box' (1.0) is used by machine web (/p)")
    #expect(try store.list().count == 1, "the box the new machine is made from stays")
  }
}
