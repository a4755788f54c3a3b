internal import CLibvirt
import Foundation
import Glibc
import Support

public final class StoragePool {
  let handle: virStoragePoolPtr
  public let connection: Connection

  init(_ handle: virStoragePoolPtr, connection: Connection) {
    self.handle = handle
    self.connection = connection
  }

  deinit { virStoragePoolFree(handle) }

  public var name: String { virStoragePoolGetName(handle).map { String(cString: $0) } ?? "?" }

  public func isActive() throws -> Bool {
    try check(virStoragePoolIsActive(handle), "read the state of storage pool '\(name)'") == 1
  }

  /// Its size in bytes as libvirt reports it (`virStoragePoolGetInfo`): what the
  /// file system holds, what is allocated and what is still free. Zero for an
  /// inactive pool.
  public func info() throws -> (capacity: UInt64, allocation: UInt64, available: UInt64) {
    var info = virStoragePoolInfo()
    try check(virStoragePoolGetInfo(handle, &info), "read the size of storage pool '\(name)'")
    return (UInt64(info.capacity), UInt64(info.allocation), UInt64(info.available))
  }

  /// Makes the pool's directory (for `dir` pools).
  public func build() throws { try check(virStoragePoolBuild(handle, 0), "build storage pool '\(name)'") }

  public func start() throws { try check(virStoragePoolCreate(handle, 0), "start storage pool '\(name)'") }

  /// Makes the pool inactive (its volumes stay where they are).
  public func stop() throws { try check(virStoragePoolDestroy(handle), "stop storage pool '\(name)'") }

  /// Forgets an inactive pool's definition (its volumes stay where they are).
  public func undefine() throws { try check(virStoragePoolUndefine(handle), "undefine storage pool '\(name)'") }

  public func setAutostart(_ on: Bool) throws {
    try check(virStoragePoolSetAutostart(handle, on ? 1 : 0), "set autostart of storage pool '\(name)'")
  }

  /// Re-reads the pool's folder. libvirt refuses a refresh while a volume of the pool
  /// is being uploaded ("has asynchronous jobs running"): another caravan command's box
  /// import, which takes seconds to minutes. That refusal is waited out (polled every
  /// 0.5 s, for up to `patience` seconds), not reported as a failure of this command.
  public func refresh(patience: Double = 600) throws {
    let deadline = Date().addingTimeInterval(patience)
    while true {
      if virStoragePoolRefresh(handle, 0) == 0 { return }
      let error = LibvirtError.last("refresh storage pool '\(name)'")
      guard error.message.contains("asynchronous jobs running"), Date() < deadline else { throw error.caravanError }
      Thread.sleep(forTimeInterval: 0.5)
    }
  }

  public func xml() throws -> String {
    try takeString(virStoragePoolGetXMLDesc(handle, 0), "read the XML of storage pool '\(name)'")
  }

  public func volume(named volumeName: String) throws -> Volume? {
    if let pointer = virStorageVolLookupByName(handle, volumeName) { return Volume(pointer, connection: connection) }
    let error = LibvirtError.last("look up volume '\(volumeName)' in pool '\(name)'")
    if error.isNotFound { return nil }
    throw error.caravanError
  }

  public func volumes() throws -> [Volume] {
    var list: UnsafeMutablePointer<virStorageVolPtr?>?
    let count = try check(virStoragePoolListAllVolumes(handle, &list, 0), "list volumes of pool '\(name)'")
    defer { free(list) }
    return (0..<Int(count)).compactMap { list?[$0] }.map { Volume($0, connection: connection) }
  }

  public func createVolume(xml: String, name volumeName: String) throws -> Volume {
    let pointer = try check(
      virStorageVolCreateXML(handle, xml, 0), "create volume '\(volumeName)' in pool '\(name)'")
    return Volume(pointer, connection: connection)
  }
}

public final class Volume {
  let handle: virStorageVolPtr
  public let connection: Connection

  init(_ handle: virStorageVolPtr, connection: Connection) {
    self.handle = handle
    self.connection = connection
  }

  deinit { virStorageVolFree(handle) }

  public var name: String { virStorageVolGetName(handle).map { String(cString: $0) } ?? "?" }

  public func path() throws -> String {
    try takeString(virStorageVolGetPath(handle), "read the path of volume '\(name)'")
  }

  public func xml() throws -> String {
    try takeString(virStorageVolGetXMLDesc(handle, 0), "read the XML of volume '\(name)'")
  }

  /// Capacity (virtual size) and allocation in bytes.
  public func info() throws -> (capacity: UInt64, allocation: UInt64) {
    var info = virStorageVolInfo()
    try check(virStorageVolGetInfo(handle, &info), "read the size of volume '\(name)'")
    return (UInt64(info.capacity), UInt64(info.allocation))
  }

  public func resize(capacity: UInt64) throws {
    try check(virStorageVolResize(handle, capacity, 0), "resize volume '\(name)' to \(capacity) bytes")
  }

  public func delete() throws { try check(virStorageVolDelete(handle, 0), "delete volume '\(name)'") }

  /// Uploads `data` into the volume through a libvirt stream (a small file made here:
  /// a cloud-init seed), so it works on remote connections too.
  public func upload(_ data: Data) throws {
    try streamUpload(length: UInt64(data.count)) { stream in
      var bytes = data
      try bytes.withUnsafeMutableBytes { buffer in
        guard let base = buffer.baseAddress, buffer.count > 0 else { return }
        try stream.sendAll(base, count: buffer.count, operation: "upload into volume '\(name)'")
      }
    }
  }

  /// Uploads a local file into the volume through a libvirt stream, so it works
  /// on remote connections too. `progress` gets the bytes sent so far.
  public func upload(fromFile path: String, progress: ((UInt64) -> Void)? = nil) throws {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else {
      throw CaravanError(
        .io, "cannot read '\(path)' to upload it into volume '\(name)': \(String(cString: strerror(errno)))")
    }
    defer { close(fd) }
    var sent: UInt64 = 0
    let chunk = 1 << 20
    let buffer = UnsafeMutableRawPointer.allocate(byteCount: chunk, alignment: 16)
    defer { buffer.deallocate() }
    try streamUpload(length: 0) { stream in
      while true {
        let count = read(fd, buffer, chunk)
        if count < 0 {
          throw CaravanError(.io, "cannot read '\(path)': \(String(cString: strerror(errno)))")
        }
        if count == 0 { break }
        try stream.sendAll(buffer, count: count, operation: "upload into volume '\(name)'")
        sent += UInt64(count)
        progress?(sent)
        // Ctrl-C: the upload is aborted (its caller deletes the half volume).
        try Interrupt.process.check()
      }
    }
  }

  /// An upload into the volume (`length` bytes; 0: up to its end) through a new stream:
  /// `send` writes the bytes, then the stream is finished, or aborted when anything fails.
  private func streamUpload(length: UInt64, _ send: (Stream) throws -> Void) throws {
    let stream = try connection.newStream()
    try check(virStorageVolUpload(handle, stream.handle, 0, length, 0), "upload into volume '\(name)'")
    do {
      try send(stream)
      try stream.finish(operation: "finish the upload into volume '\(name)'")
    } catch {
      stream.abort()
      throw error
    }
  }
}
