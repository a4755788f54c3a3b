import Boxes
import Foundation
import Support
import TestSupport
import Testing

@testable import Builder

/// Log lines, collected from the server's tasks.
final class LogLines: Sendable {
  private let lines = Guarded<[String]>([])
  var all: [String] { lines.withLock { $0 } }
  func append(_ line: String) { lines.withLock { $0.append(line) } }
}

/// A server on 127.0.0.1 over `roots`, stopped at the end of `body`.
func withServer(
  roots: [String], allowedPeers: [PeerRange] = [.loopback], _ body: (UInt16, LogLines) async throws -> Void
) async throws {
  let log = LogLines()
  let server = BuildHTTPServer(roots: roots, allowedPeers: allowedPeers, log: { log.append($0) })
  let port = try await server.start()
  do {
    try await body(port, log)
    await server.stop()
  } catch {
    await server.stop()
    throw error
  }
}

/// 0, 1, …, 255, 0, 1, …: bytes whose value says where they are.
func pattern(_ count: Int) -> Data {
  Data((0..<count).map { UInt8(truncatingIfNeeded: $0) })
}

struct BuildHTTPServerTests {
  let preseed = "d-i passwd/user-password password vagrant\nd-i preseed/late_command string echo ${HOME} $x\n"

  @Test func getServesTheFileWithItsLengthAndType() async throws {
    let folder = try TemporaryFolder()
    let root = try folder.folder("root")
    try folder.write("root/preseed.cfg", preseed)
    try folder.write("root/sub/rootfs.tar", pattern(3000))
    try await withServer(roots: [root]) { port, log async throws in
      #expect(port > 0)
      let reply = try await RawHTTP.get("/preseed.cfg", port: port)
      #expect(reply.status == 200)
      #expect(reply.text == preseed)
      #expect(reply.headers["content-length"] == String(preseed.utf8.count))
      #expect(reply.headers["content-type"] == "text/plain; charset=utf-8")
      #expect(reply.headers["accept-ranges"] == "bytes")
      let tarball = try await RawHTTP.get("/sub/rootfs.tar", port: port)
      #expect(tarball.status == 200 && tarball.body == pattern(3000))
      #expect(tarball.headers["content-type"] == "application/octet-stream")
      #expect(log.all == ["GET /preseed.cfg 200 \(preseed.utf8.count) bytes", "GET /sub/rootfs.tar 200 3000 bytes"])
    }
  }

  /// A peer outside the allowed range gets 403 and nothing of the file (a server allowing
  /// only 127.0.0.2 stands for one allowing only loopback, seen by a peer elsewhere).
  @Test func aPeerOutsideTheAllowedRangeIsRefused() async throws {
    let folder = try TemporaryFolder()
    try folder.write("root/preseed.cfg", preseed)
    let only = try #require(PeerRange("127.0.0.2/32"))
    try await withServer(roots: [folder.path + "/root"], allowedPeers: [only]) { port, log async throws in
      let refused = try await RawHTTP.get("/preseed.cfg", port: port)
      #expect(refused.status == 403 && refused.body.isEmpty, "\(refused)")
      #expect(!refused.text.contains("vagrant"))
      let allowed = try await RawHTTP.get("/preseed.cfg", port: port, from: "127.0.0.2")
      #expect(allowed.status == 200 && allowed.text == preseed)
      #expect(log.all.first?.hasPrefix("GET /preseed.cfg 403 0 bytes: refused 127.0.0.1:") == true, "\(log.all)")
      #expect(log.all.last == "GET /preseed.cfg 200 \(preseed.utf8.count) bytes", "\(log.all)")
    }
  }

  @Test func peerRangesParseAndMatch() throws {
    let guest = try #require(PeerRange("10.0.2.0/24"))
    #expect(guest.contains("10.0.2.15") && !guest.contains("10.0.3.1") && !guest.contains("192.168.1.2"))
    #expect(PeerRange.loopback.contains("127.0.0.1") && PeerRange.loopback.contains("127.9.9.9"))
    #expect(!PeerRange.loopback.contains("128.0.0.1") && !PeerRange.loopback.contains("::1"))
    #expect(
      PeerRange("10.0.2.15")?.contains("10.0.2.15") == true && PeerRange("10.0.2.15")?.contains("10.0.2.16") == false)
    for bad in ["", "10.0.2", "10.0.2.0/33", "10.0.2.256/24", "a.b.c.d", "10.0.2.0/x", "1.2.3.4/8/9"] {
      #expect(PeerRange(bad) == nil, "\(bad)")
    }
  }

  @Test func headGivesTheLengthWithoutTheBody() async throws {
    let folder = try TemporaryFolder()
    try folder.write("root/preseed.cfg", preseed)
    try await withServer(roots: [folder.path + "/root"]) { port, log async throws in
      let reply = try await RawHTTP.get("/preseed.cfg", port: port, method: "HEAD")
      #expect(reply.status == 200)
      #expect(reply.headers["content-length"] == String(preseed.utf8.count))
      #expect(reply.headers["accept-ranges"] == "bytes")
      #expect(reply.body.isEmpty)
      // A range does not apply to HEAD.
      let ranged = try await RawHTTP.get("/preseed.cfg", port: port, method: "HEAD", headers: ["Range: bytes=0-1"])
      #expect(ranged.status == 200 && ranged.headers["content-length"] == String(preseed.utf8.count))
      #expect(log.all == ["HEAD /preseed.cfg 200 0 bytes", "HEAD /preseed.cfg 200 0 bytes"])
    }
  }

  @Test func singleByteRangesInAllThreeForms() async throws {
    let folder = try TemporaryFolder()
    let data = pattern(1000)
    try folder.write("root/data.bin", data)
    try await withServer(roots: [folder.path + "/root"]) { port, log async throws in
      let cases: [(String, Range<Int>)] = [
        ("bytes=10-19", 10..<20), ("bytes=990-", 990..<1000), ("bytes=-5", 995..<1000), ("bytes=0-0", 0..<1),
        ("bytes=995-5000", 995..<1000), ("bytes=-5000", 0..<1000), ("bytes=999-999", 999..<1000),
      ]
      for (header, range) in cases {
        let reply = try await RawHTTP.get("/data.bin", port: port, headers: ["Range: \(header)"])
        #expect(reply.status == 206, "\(header)")
        #expect(reply.headers["content-range"] == "bytes \(range.lowerBound)-\(range.upperBound - 1)/1000", "\(header)")
        #expect(reply.headers["content-length"] == String(range.count), "\(header)")
        #expect(reply.body == data[range], "\(header)")
      }
      #expect(log.all.first == "GET /data.bin 206 10 bytes")
      #expect(log.all.count == cases.count)
    }
  }

  @Test func anUnsatisfiableRangeIs416WithTheSize() async throws {
    let folder = try TemporaryFolder()
    try folder.write("root/data.bin", pattern(1000))
    try folder.write("root/empty", Data())
    try await withServer(roots: [folder.path + "/root"]) { port, log async throws in
      for header in ["bytes=1000-", "bytes=1000-1001", "bytes=-0", "bytes=99999999999999999999999-"] {
        let reply = try await RawHTTP.get("/data.bin", port: port, headers: ["Range: \(header)"])
        #expect(reply.status == 416, "\(header)")
        #expect(reply.headers["content-range"] == "bytes */1000", "\(header)")
        #expect(reply.body.isEmpty)
      }
      let empty = try await RawHTTP.get("/empty", port: port, headers: ["Range: bytes=-1"])
      #expect(empty.status == 416 && empty.headers["content-range"] == "bytes */0")
      #expect(log.all.first == "GET /data.bin 416 0 bytes")
    }
  }

  @Test func rangesTheServerDoesNotTakeGetTheWholeFile() async throws {
    let folder = try TemporaryFolder()
    try folder.write("root/data.bin", pattern(100))
    try await withServer(roots: [folder.path + "/root"]) { port, _ async throws in
      for header in ["bytes=5-1", "items=0-1", "bytes=0-1,5-6", "bytes=x-", "bytes=1", "bytes=--1"] {
        let reply = try await RawHTTP.get("/data.bin", port: port, headers: ["Range: \(header)"])
        #expect(reply.status == 200 && reply.body == pattern(100), "\(header)")
        #expect(reply.headers["content-range"] == nil)
      }
    }
  }

  @Test func byteRangeParsing() {
    typealias Handler = FileRequestHandler
    #expect(Handler.byteRange(nil, size: 10) == .whole)
    #expect(Handler.byteRange("bytes=2-4", size: 10) == .part(2..<5))
    #expect(Handler.byteRange(" BYTES = 2-4", size: 10) == .whole)
    #expect(Handler.byteRange("Bytes=2-", size: 10) == .part(2..<10))
    #expect(Handler.byteRange("bytes= -3", size: 10) == .part(7..<10))
    #expect(Handler.byteRange("bytes=9-9", size: 10) == .part(9..<10))
    #expect(Handler.byteRange("bytes=10-", size: 10) == .unsatisfiable)
    #expect(Handler.byteRange("bytes=0-", size: 0) == .unsatisfiable)
    #expect(Handler.byteRange("bytes=-1", size: 0) == .unsatisfiable)
    #expect(Handler.byteRange("bytes=4-2", size: 10) == .whole)
    #expect(Handler.byteRange("bytes=+1-2", size: 10) == .whole)
  }

  @Test func theFirstRootHoldingAFileWins() async throws {
    let folder = try TemporaryFolder()
    let first = try folder.folder("templates")
    let second = try folder.folder("http")
    try folder.write("templates/preseed.cfg", "rendered")
    try folder.write("http/preseed.cfg", "raw")
    try folder.write("http/scripts/vagrant.sh", "#!/bin/sh\n")
    try folder.write("templates/scripts/keep", "")  // a folder of the same name in the first root
    _ = try folder.folder("templates/kernel")
    try folder.write("http/kernel", "a file where the first root has a folder")
    try await withServer(roots: [first, second]) { port, _ async throws in
      #expect(try await RawHTTP.get("/preseed.cfg", port: port).text == "rendered")
      #expect(try await RawHTTP.get("/scripts/vagrant.sh", port: port).text == "#!/bin/sh\n")
      #expect(try await RawHTTP.get("/kernel", port: port).text == "a file where the first root has a folder")
    }
  }

  @Test func pathsOutsideTheRootsAreRefused() async throws {
    let folder = try TemporaryFolder()
    try folder.write("secret.txt", "SECRET")
    try folder.write("root/preseed.cfg", preseed)
    try folder.write("root/a/b.txt", "b")
    try await withServer(roots: [folder.path + "/root"]) { port, log async throws in
      let refused: [(String, Int)] = [
        ("/../secret.txt", 403), ("/a/../../secret.txt", 403), ("/%2e%2e/secret.txt", 403),
        ("/%2E%2E%2Fsecret.txt", 403), ("/..%2fsecret.txt", 403), ("/a/%2e%2e/%2e%2e/secret.txt", 403),
        ("/./preseed.cfg", 403), ("/a/..", 403), ("../secret.txt", 400), ("secret.txt", 400),
        ("http://127.0.0.1/secret.txt", 400), ("/preseed.cfg%00.png", 400), ("/%zz", 400),
        ("/etc/passwd", 404), ("//etc/passwd", 404), ("/" + folder.path + "/secret.txt", 404),
      ]
      for (target, status) in refused {
        let reply = try await RawHTTP.get(target, port: port)
        #expect(reply.status == status, "\(target)")
        #expect(!reply.text.contains("SECRET"), "\(target)")
      }
      #expect(log.all.first == "GET /../secret.txt 403 0 bytes")
      #expect(log.all.count == refused.count)
      // Through curl too, which must be told not to fold the `..` away itself.
      let viaCurl = try await curl([
        "--path-as-is", "--output", "/dev/null", "--write-out", "%{http_code}",
        "http://127.0.0.1:\(port)/a/../../secret.txt",
      ])
      #expect(viaCurl.stdout == "403")
      // Segments that only look like dots are ordinary names.
      try folder.write("root/..data", "dots")
      #expect(try await RawHTTP.get("/..data", port: port).text == "dots")
    }
  }

  @Test func symbolicLinksMayNotLeadOutOfTheRoot() async throws {
    let folder = try TemporaryFolder()
    try folder.write("secret.txt", "SECRET")
    try folder.write("root/preseed.cfg", preseed)
    try folder.link("root/escape", to: "../secret.txt")
    try folder.link("root/absolute-escape", to: folder.path + "/secret.txt")
    try folder.link("root/everything", to: "/")
    try folder.link("root/inside", to: "preseed.cfg")
    try folder.link("root/absolute-inside", to: folder.path + "/root/preseed.cfg")
    try folder.link("root/dangling", to: "nowhere")
    try await withServer(roots: [folder.path + "/root"]) { port, _ async throws in
      for target in [
        "/escape", "/absolute-escape", "/everything/etc/passwd", "/everything" + folder.path + "/secret.txt",
      ] {
        let reply = try await RawHTTP.get(target, port: port)
        #expect(reply.status == 403, "\(target)")
        #expect(!reply.text.contains("SECRET"))
      }
      #expect(try await RawHTTP.get("/inside", port: port).text == preseed)
      #expect(try await RawHTTP.get("/absolute-inside", port: port).text == preseed)
      #expect(try await RawHTTP.get("/dangling", port: port).status == 404)
    }
  }

  @Test func aRootReachedThroughALinkServesItsFiles() async throws {
    let folder = try TemporaryFolder()
    try folder.write("real/preseed.cfg", preseed)
    try folder.link("linked", to: "real")
    try await withServer(roots: [folder.path + "/linked"]) { port, _ async throws in
      #expect(try await RawHTTP.get("/preseed.cfg", port: port).text == preseed)
    }
  }

  @Test func missingFilesFoldersAndSpecialFilesAre404() async throws {
    let folder = try TemporaryFolder()
    try folder.write("root/sub/file.txt", "x")
    #expect(mkfifo(folder.path + "/root/fifo", 0o644) == 0)
    try await withServer(roots: [folder.path + "/root"]) { port, log async throws in
      for target in ["/missing.cfg", "/sub", "/sub/", "/", "/fifo", "/sub/file.txt/more"] {
        #expect(try await RawHTTP.get(target, port: port).status == 404, "\(target)")
      }
      #expect(log.all.first == "GET /missing.cfg 404 0 bytes")
    }
  }

  @Test func otherMethodsAre405() async throws {
    let folder = try TemporaryFolder()
    try folder.write("root/preseed.cfg", preseed)
    try await withServer(roots: [folder.path + "/root"]) { port, log async throws in
      let reply = try await RawHTTP.get("/preseed.cfg", port: port, method: "DELETE")
      #expect(reply.status == 405 && reply.headers["allow"] == "GET, HEAD")
      #expect(log.all == ["DELETE /preseed.cfg 405 0 bytes"])
    }
  }

  @Test func aFileLargerThan64MiBIsStreamedWithBoundedMemory() async throws {
    let folder = try TemporaryFolder()
    let size = 128 << 20
    let path = try folder.write("root/rootfs.tar", Data())
    var expected = StreamingDigest(.sha256)
    let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
    let random = try #require(FileHandle(forReadingAtPath: "/dev/urandom"))
    defer { try? random.close() }
    for _ in 0..<(size >> 20) {
      let chunk = try #require(try random.read(upToCount: 1 << 20))
      expected.update(chunk)
      try handle.write(contentsOf: chunk)
    }
    try handle.close()
    let expectedHex = expected.finalizeHex()

    try await withServer(roots: [folder.path + "/root"]) { port, log async throws in
      // The peak is the whole process's: the other suites running at once count too, so a
      // download whose growth passes the bound is tried again (twice at most) and the
      // smallest growth counts. A server holding the file would pass it every time.
      let output = folder.path + "/downloaded.tar"
      var peakGrowth = Int.max
      var attempt: Subprocess.Result?
      for _ in 0..<3 where peakGrowth >= 64 << 20 {
        let rssBefore = try Memory.resetPeak()
        attempt = try await curl(["--fail", "--output", output, "http://127.0.0.1:\(port)/rootfs.tar"])
        peakGrowth = min(peakGrowth, try Memory.peak() - rssBefore)
      }
      let result = try #require(attempt)
      #expect(result.status == 0, "\(result.stderr)")
      #expect(try FileManager.default.attributesOfItem(atPath: output)[.size] as? Int == size)
      #expect(try sha256(of: output) == expectedHex)
      // The whole file in memory would be 128 MiB more; a chunk at a time is a few hundred KiB.
      // The bound is generous: `make test` runs every suite in this process at once, and the
      // others' allocations count too (36 MiB was seen there).
      #expect(peakGrowth < 64 << 20, "peak resident memory grew by \(peakGrowth >> 20) MiB")
      #expect(log.all.first == "GET /rootfs.tar 200 \(size) bytes" && Set(log.all).count == 1, "\(log.all)")

      // The last byte, by a suffix range, read from the far end of the file.
      let tail = try await RawHTTP.get("/rootfs.tar", port: port, headers: ["Range: bytes=-1"])
      #expect(tail.headers["content-range"] == "bytes \(size - 1)-\(size - 1)/\(size)" && tail.body.count == 1)
    }
  }

  @Test func theBodyIsReadAChunkAtATime() async throws {
    let folder = try TemporaryFolder()
    let path = try folder.write("data.bin", pattern(1000))
    let root = try BuildHTTPServer.resolvedRoot(folder.path)
    guard case .file(let file) = FileRequestHandler.resolve("/data.bin", in: [root]) else {
      Issue.record("data.bin not found")
      return
    }
    #expect(file.path == realPath(path))
    var iterator = FileRangeSequence(file: file, range: 100..<900).makeAsyncIterator()
    var chunks: [Data] = []
    while let chunk = try await iterator.nextBuffer(suggested: 300) { chunks.append(chunk) }
    #expect(chunks.map(\.count) == [300, 300, 200])
    #expect(Data(chunks.joined()) == pattern(1000)[100..<900])
  }

  @Test func aPortInUseIsAnErrorNamingTheAddressAndCause() async throws {
    let folder = try TemporaryFolder()
    try await withServer(roots: [folder.path]) { port, _ async throws in
      let second = BuildHTTPServer(roots: [folder.path], port: port, log: { _ in })
      do {
        _ = try await second.start()
        Issue.record("a second server started on port \(port)")
        await second.stop()
      } catch let error as CaravanError {
        #expect(
          error.message
            == "the build's HTTP server cannot listen on 127.0.0.1:\(port): bind failed: Address already in use")
        #expect(error.hint?.contains("Another program may hold port \(port)") == true)
      }
    }
  }

  @Test func aRootThatIsNotAFolderIsAnError() async throws {
    let folder = try TemporaryFolder()
    let file = try folder.write("file.txt", "x")
    for root in [folder.path + "/missing", file] {
      let server = BuildHTTPServer(roots: [folder.path, root], log: { _ in })
      do {
        _ = try await server.start()
        Issue.record("started with root \(root)")
        await server.stop()
      } catch let error as CaravanError {
        #expect(error.kind == .notFound)
        #expect(error.message == "the build's HTTP server cannot serve '\(root)': it is not a folder")
      }
    }
  }

  @Test func stopClosesTheListenerAndOpenConnectionsAndAllowsARestart() async throws {
    let folder = try TemporaryFolder()
    try folder.write("preseed.cfg", preseed)
    let server = BuildHTTPServer(roots: [folder.path], log: { _ in })
    let port = try await server.start()
    await #expect(throws: CaravanError.self) { _ = try await server.start() }

    // A keep-alive connection left open after one response.
    let socket = try RawHTTP.connectLoopback(port: port)
    defer { close(socket) }
    try RawHTTP.send(Data("GET /preseed.cfg HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".utf8), on: socket)
    let answer = try await onThread { try RawHTTP.read(count: preseed.utf8.count, after: "\r\n\r\n", from: socket) }
    #expect(String(decoding: answer, as: UTF8.self).hasSuffix(preseed))
    let clock = ContinuousClock()
    let started = clock.now
    await server.stop()
    #expect(clock.now - started < .seconds(5))
    // The server closed the connection.
    #expect(try await onThread { try RawHTTP.readAll(from: socket) }.isEmpty)
    await #expect(throws: RawHTTP.Failure.self) { _ = try await RawHTTP.get("/preseed.cfg", port: port) }
    await server.stop()  // again: nothing to do

    let again = try await server.start()
    #expect(try await RawHTTP.get("/preseed.cfg", port: again).text == preseed)
    await server.stop()
  }
}

/// This process's resident memory, from /proc/self.
enum Memory {
  /// Resets the peak (VmHWM) to the current size and returns that size, in bytes.
  static func resetPeak() throws -> Int {
    let handle = try #require(FileHandle(forWritingAtPath: "/proc/self/clear_refs"))
    defer { try? handle.close() }
    try handle.write(contentsOf: Data("5".utf8))
    return try field("VmRSS")
  }

  static func peak() throws -> Int { try field("VmHWM") }

  private static func field(_ name: String) throws -> Int {
    let status = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
    guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix(name + ":") }),
      let kib = Int(line.split(separator: " ").dropFirst().first ?? "")
    else { throw RawHTTP.Failure(description: "no \(name) in /proc/self/status") }
    return kib * 1024
  }
}

func sha256(of path: String) throws -> String {
  var digest = StreamingDigest(.sha256)
  let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
  defer { try? handle.close() }
  while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty { digest.update(chunk) }
  return digest.finalizeHex()
}
