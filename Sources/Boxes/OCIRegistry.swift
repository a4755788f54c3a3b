import Foundation
import Spec
import Support

/// `oci://HOST[:PORT]/REPO[:TAG|@sha256:HEX]`: a box in an OCI registry.
public struct OCIReference: Equatable, Sendable, CustomStringConvertible {
  public var host: String
  public var repository: String
  /// nil with a digest; "latest" when neither is given.
  public var tag: String?
  /// `sha256:HEX`.
  public var digest: String?

  public static func isOCI(_ text: String) -> Bool { text.lowercased().hasPrefix("oci://") }

  public init(parsing text: String) throws {
    func refuse(_ why: String) -> CaravanError {
      CaravanError(
        .invalidInput, "'\(text)' is not an OCI reference: \(why)",
        hint: "Write oci://HOST[:PORT]/REPOSITORY:TAG or oci://HOST[:PORT]/REPOSITORY@sha256:HEX.")
    }
    guard OCIReference.isOCI(text) else { throw refuse("it does not start with oci://") }
    let rest = String(text.dropFirst("oci://".count))
    guard let slash = rest.firstIndex(of: "/"), slash != rest.startIndex else { throw refuse("it names no repository") }
    host = String(rest[..<slash])
    var path = String(rest[rest.index(after: slash)...])
    digest = nil
    tag = nil
    if let at = path.firstIndex(of: "@") {
      let value = String(path[path.index(after: at)...])
      guard value.hasPrefix("sha256:"), value.count == 71,
        value.dropFirst(7).allSatisfy({ $0.isHexDigit && !$0.isUppercase })
      else { throw refuse("the digest '\(value)' is not sha256: and 64 lowercase hex digits") }
      digest = value
      path = String(path[..<at])
    }
    if let colon = path.lastIndex(of: ":"), !path[colon...].contains("/") {
      tag = String(path[path.index(after: colon)...])
      path = String(path[..<colon])
      guard let tag, !tag.isEmpty, tag.count <= 128,
        tag.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "_.-".contains($0)) })
      else { throw refuse("the tag '\(tag ?? "")' is not [A-Za-z0-9_.-], at most 128 characters") }
    } else if digest == nil {
      tag = "latest"
    }
    let component = path.split(separator: "/", omittingEmptySubsequences: false)
    guard !path.isEmpty,
      component.allSatisfy({ part in
        !part.isEmpty && part.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber || "._-".contains($0)) }
      })
    else { throw refuse("the repository '\(path)' is not lowercase letters, digits and . _ - between slashes") }
    repository = path
  }

  public init(host: String, repository: String, tag: String?, digest: String?) {
    self.host = host
    self.repository = repository
    self.tag = tag
    self.digest = digest
  }

  /// The tag or digest the registry's API takes.
  public var reference: String { digest ?? tag ?? "latest" }

  public var description: String {
    "oci://\(host)/\(repository)" + (tag.map { ":" + $0 } ?? "") + (digest.map { "@" + $0 } ?? "")
  }

  /// The same repository and tag, pinned to `digest` (`REPO:TAG@sha256:…`: the digest is what is fetched).
  public func pinned(_ digest: String) -> OCIReference {
    OCIReference(host: host, repository: repository, tag: tag, digest: digest)
  }

  /// Whether both name the same repository and tag (whatever digest pins them).
  public func sameTag(as other: OCIReference) -> Bool {
    host == other.host && repository == other.repository && (tag ?? "latest") == (other.tag ?? "latest")
  }

  /// A host on this machine's loopback: plain HTTP is allowed there.
  public var isLoopback: Bool {
    let name = host.split(separator: ":").first.map(String.init) ?? host
    return name == "localhost" || name.hasPrefix("127.") || host.hasPrefix("[::1]")
  }
}

/// The HTTP API of an OCI registry (the distribution spec) for one repository:
/// credentials from `CARAVAN_REGISTRY_AUTH` or `~/.docker/config.json`, the
/// `WWW-Authenticate` handshake (a bearer token for the repository's scope, or basic
/// auth), TLS checked against the system's CAs or `CARAVAN_CA_FILE`, plain HTTP only
/// for a registry on loopback or named in `CARAVAN_INSECURE_REGISTRIES`.
public final class OCIRegistry {
  public let reference: OCIReference
  let environment: [String: String]
  private var scheme: String?
  private var authorization: String?

  public init(_ reference: OCIReference, environment: [String: String]) {
    self.reference = reference
    self.environment = environment
  }

  /// Whether plain HTTP may be tried for this host.
  var allowsPlainHTTP: Bool {
    if reference.isLoopback { return true }
    let listed = (environment["CARAVAN_INSECURE_REGISTRIES"] ?? "").split(separator: ",").map {
      $0.trimmingCharacters(in: .whitespaces)
    }
    return listed.contains(reference.host)
  }

  /// `user:password` for the host: `CARAVAN_REGISTRY_AUTH`, else the `auths` entry of
  /// `~/.docker/config.json` (as docker and podman write it); nil when neither has one.
  func credentials() -> String? {
    if let given = environment["CARAVAN_REGISTRY_AUTH"], !given.isEmpty { return given }
    let home = environment["HOME"] ?? NSHomeDirectory()
    let path = environment["DOCKER_CONFIG"].map { $0 + "/config.json" } ?? home + "/.docker/config.json"
    return OCIRegistry.dockerCredentials(FileManager.default.contents(atPath: path), host: reference.host)
  }

  /// The `user:password` a docker `config.json` keeps for `host` (its `auth`, base64,
  /// or `username` and `password`), under the host or a URL of it.
  static func dockerCredentials(_ data: Data?, host: String) -> String? {
    guard let data, let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
      let auths = json["auths"] as? [String: Any]
    else { return nil }
    let keys = [host, "https://\(host)", "http://\(host)", "https://\(host)/v2/", "http://\(host)/v2/"]
    guard let entry = keys.lazy.compactMap({ auths[$0] as? [String: Any] }).first else { return nil }
    if let auth = entry["auth"] as? String, let decoded = Data(base64Encoded: auth) {
      return String(decoding: decoded, as: UTF8.self)
    }
    if let user = entry["username"] as? String, let password = entry["password"] as? String {
      return "\(user):\(password)"
    }
    return nil
  }

  /// Sends a request to `path` (`/v2/…`), answering the registry's auth challenge
  /// once; the scheme is https, or http for a host that allows it and speaks no TLS.
  func send(
    _ method: String, _ path: String, headers: [String: String] = [:], body: HTTPRequest.Body = .none,
    sink: ((UnsafeRawBufferPointer) throws -> Void)? = nil
  ) throws -> HTTPRequest.Response {
    var response = try attempt(method, path, headers: headers, body: body, sink: sink)
    if response.status == 401, let challenge = response.headers["www-authenticate"] {
      authorization = try authorize(challenge)
      response = try attempt(method, path, headers: headers, body: body, sink: sink)
      if response.status == 401 || response.status == 403 {
        throw refused(response.status)
      }
    }
    return response
  }

  private func attempt(
    _ method: String, _ path: String, headers: [String: String], body: HTTPRequest.Body,
    sink: ((UnsafeRawBufferPointer) throws -> Void)?
  ) throws -> HTTPRequest.Response {
    let url = path.hasPrefix("http://") || path.hasPrefix("https://") ? path : try base() + path
    let request = HTTPRequest(method: method, url: url, headers: headers, body: body)
    if let authorization { request.headers["Authorization"] = authorization }
    request.caFile = environment["CARAVAN_CA_FILE"].flatMap { $0.isEmpty ? nil : $0 }
    do {
      return try request.perform(sink: sink)
    } catch let error as HTTPRequest.TransportError {
      throw unreachable(error)
    }
  }

  /// The registry cannot be reached: why, and what to check.
  private func unreachable(_ error: HTTPRequest.TransportError) -> CaravanError {
    CaravanError(
      .io, "cannot reach the registry of \(reference): \(error.detail)",
      hint: error.isTLS
        ? "Check its TLS certificate; a private CA goes in CARAVAN_CA_FILE (a registry without TLS: CARAVAN_INSECURE_REGISTRIES=\(reference.host))."
        : "Check the host and port, and that the registry runs.")
  }

  /// `https://HOST`, or `http://HOST` for a host that may use plain HTTP and has no TLS.
  private func base() throws -> String {
    if let scheme { return "\(scheme)://\(reference.host)" }
    let secure = HTTPRequest(method: "GET", url: "https://\(reference.host)/v2/")
    secure.caFile = environment["CARAVAN_CA_FILE"].flatMap { $0.isEmpty ? nil : $0 }
    do {
      _ = try secure.perform()
      scheme = "https"
    } catch let error as HTTPRequest.TransportError where allowsPlainHTTP && error.isHandshake {
      // It speaks no TLS at all (a certificate it is not trusted for is never a reason for plain HTTP).
      scheme = "http"
    } catch let error as HTTPRequest.TransportError {
      throw unreachable(error)
    }
    return "\(scheme ?? "https")://\(reference.host)"
  }

  /// The `Authorization` header a challenge asks for: a bearer token from its realm
  /// (for this repository's pull and push scope), or basic auth.
  private func authorize(_ challenge: String) throws -> String {
    let credentials = credentials()
    let lower = challenge.lowercased()
    if lower.hasPrefix("basic") {
      guard let credentials else { throw refused(401) }
      return "Basic " + Data(credentials.utf8).base64EncodedString()
    }
    guard lower.hasPrefix("bearer") else {
      throw CaravanError(
        .io, "the registry of \(reference) asks for an authentication Caravan does not speak: \(challenge)")
    }
    let parameters = OCIRegistry.challengeParameters(challenge)
    guard let realm = parameters["realm"], var components = URLComponents(string: realm) else {
      throw CaravanError(.io, "the registry of \(reference) sent a bearer challenge without a realm: \(challenge)")
    }
    var items = components.queryItems ?? []
    if let service = parameters["service"] { items.append(URLQueryItem(name: "service", value: service)) }
    items.append(
      URLQueryItem(name: "scope", value: parameters["scope"] ?? "repository:\(reference.repository):pull,push"))
    components.queryItems = items
    let request = HTTPRequest(method: "GET", url: components.string ?? realm)
    request.caFile = environment["CARAVAN_CA_FILE"].flatMap { $0.isEmpty ? nil : $0 }
    if let credentials { request.headers["Authorization"] = "Basic " + Data(credentials.utf8).base64EncodedString() }
    let answer: HTTPRequest.Response
    do {
      answer = try request.perform()
    } catch let error as HTTPRequest.TransportError {
      throw CaravanError(.io, "cannot reach the token service of \(reference): \(error.detail)")
    }
    guard answer.status == 200,
      let json = try? JSONSerialization.jsonObject(with: answer.body) as? [String: Any],
      let token = (json["token"] as? String) ?? (json["access_token"] as? String)
    else { throw refused(answer.status) }
    return "Bearer " + token
  }

  /// `Bearer realm="…",service="…",scope="…"` as a dictionary.
  static func challengeParameters(_ challenge: String) -> [String: String] {
    var result: [String: String] = [:]
    guard let space = challenge.firstIndex(of: " ") else { return result }
    var rest = Substring(challenge[challenge.index(after: space)...])
    while let equals = rest.firstIndex(of: "=") {
      let key = rest[..<equals].trimmingCharacters(in: CharacterSet(charactersIn: " ,")).lowercased()
      rest = rest[rest.index(after: equals)...]
      var value = ""
      if rest.first == "\"" {
        rest = rest.dropFirst()
        let end = rest.firstIndex(of: "\"") ?? rest.endIndex
        value = String(rest[..<end])
        rest = end < rest.endIndex ? rest[rest.index(after: end)...] : ""
      } else {
        let end = rest.firstIndex(of: ",") ?? rest.endIndex
        value = String(rest[..<end])
        rest = rest[end...]
      }
      result[key] = value
    }
    return result
  }

  func refused(_ status: Int) -> CaravanError {
    let configured = credentials() != nil
    return CaravanError(
      .io, "the registry of \(reference) refused the credentials (HTTP \(status))",
      hint: configured
        ? "Check the user and password in CARAVAN_REGISTRY_AUTH or ~/.docker/config.json (`docker login \(reference.host)`)."
        : "It needs a login: set CARAVAN_REGISTRY_AUTH=user:password, or `docker login \(reference.host)`.")
  }

  /// The registry's own words for a failed request (its `errors` JSON), for messages.
  static func explain(_ response: HTTPRequest.Response) -> String {
    if let json = try? JSONSerialization.jsonObject(with: response.body) as? [String: Any],
      let errors = json["errors"] as? [[String: Any]], !errors.isEmpty
    {
      return errors.map { "\($0["code"] as? String ?? "ERROR"): \($0["message"] as? String ?? "")" }.joined(
        separator: "; ")
    }
    return "HTTP \(response.status)"
  }
}
