import Foundation
import Spec
import Support
import Testing

@testable import Boxes

/// OCI references as `box add`/`box push` read them, registry credentials as docker and
/// podman write them, and the registry's auth challenge.
struct OCIReferenceTests {
  @Test func referencesReadWithATagADigestOrBoth() throws {
    let tagged = try OCIReference(parsing: "oci://127.0.0.1:5000/boxes/debian:v1")
    #expect(tagged.host == "127.0.0.1:5000" && tagged.repository == "boxes/debian" && tagged.tag == "v1")
    #expect(tagged.reference == "v1" && tagged.isLoopback)
    #expect(try OCIReference(parsing: "oci://registry.example/a/b/c").tag == "latest")
    let hex = String(repeating: "ab", count: 32)
    let pinned = try OCIReference(parsing: "oci://r.example/boxes/debian:v1@sha256:\(hex)")
    #expect(pinned.tag == "v1" && pinned.digest == "sha256:\(hex)" && pinned.reference == "sha256:\(hex)")
    #expect(pinned.description == "oci://r.example/boxes/debian:v1@sha256:\(hex)")
    #expect(pinned.sameTag(as: try OCIReference(parsing: "oci://r.example/boxes/debian:v1")))
    #expect(!pinned.sameTag(as: try OCIReference(parsing: "oci://r.example/boxes/debian:v2")))
    #expect(!pinned.isLoopback)
    #expect(tagged.pinned("sha256:\(hex)").description == "oci://127.0.0.1:5000/boxes/debian:v1@sha256:\(hex)")
  }

  @Test func badReferencesAreNamedWithTheFix() {
    for (text, why) in [
      ("https://r/x", "does not start with oci://"), ("oci://r", "names no repository"),
      ("oci://r/Boxes/x", "is not lowercase"), ("oci://r/x@sha256:12", "is not sha256: and 64"),
      ("oci://r/x:bad tag", "is not [A-Za-z0-9_.-]"),
    ] {
      #expect(throws: CaravanError.self) { try OCIReference(parsing: text) }
      let message =
        (try? OCIReference(parsing: text)).map { "\($0)" }
        ?? {
          do {
            _ = try OCIReference(parsing: text)
            return ""
          } catch { return "\(error)" }
        }()
      #expect(message.contains(why) && message.contains("oci://HOST[:PORT]/REPOSITORY:TAG"), "\(text): \(message)")
    }
  }

  @Test func dockerConfigCredentialsAreFoundByHost() {
    let config = Data(
      """
      {"auths": {"r.example:5000": {"auth": "\(Data("ci:pw".utf8).base64EncodedString())"},
                 "https://other.example": {"username": "u", "password": "p"}}}
      """.utf8)
    #expect(OCIRegistry.dockerCredentials(config, host: "r.example:5000") == "ci:pw")
    #expect(OCIRegistry.dockerCredentials(config, host: "other.example") == "u:p")
    #expect(OCIRegistry.dockerCredentials(config, host: "nobody.example") == nil)
    #expect(OCIRegistry.dockerCredentials(Data("not json".utf8), host: "r.example:5000") == nil)
    let environment = ["CARAVAN_REGISTRY_AUTH": "env:pw", "HOME": "/nonexistent"]
    let registry = OCIRegistry(try! OCIReference(parsing: "oci://r.example:5000/x"), environment: environment)
    #expect(registry.credentials() == "env:pw", "the environment wins")
    #expect(!registry.allowsPlainHTTP)
    let listed = OCIRegistry(
      try! OCIReference(parsing: "oci://r.example:5000/x"),
      environment: ["CARAVAN_INSECURE_REGISTRIES": "a.example, r.example:5000"])
    #expect(listed.allowsPlainHTTP)
  }

  @Test func aBearerChallengeIsReadIntoItsParameters() {
    let parameters = OCIRegistry.challengeParameters(
      #"Bearer realm="https://auth.example/token",service="registry.example",scope="repository:boxes/debian:pull""#)
    #expect(parameters["realm"] == "https://auth.example/token")
    #expect(parameters["service"] == "registry.example")
    #expect(parameters["scope"] == "repository:boxes/debian:pull")
  }
}
