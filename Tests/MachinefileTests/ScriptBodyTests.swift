import Foundation
import Spec
import Support
import Testing

@testable import Machinefile

private func shell(_ source: String, _ environment: [String: String] = [:]) throws -> ShellProvisioner {
  let spec = try Machinefile.load(source: source, fileName: "Machinefile", environment: environment)
  guard case .shell(let shell) = spec.machines[0].provisioners[0].kind else {
    throw CaravanError(.invalidInput, "not a shell provisioner")
  }
  return shell
}

/// Script bodies (`inline:` of shell provisioners and postinstall steps, `run:`/`run_remote:`
/// of triggers) reach the shell byte for byte; `env:` and `args:` are interpolated.
@Suite struct ScriptBodyTests {
  @Test func multiLineBodyIsVerbatim() throws {
    let source = #"""
      provision shell, env: {WHO: "${USER}"}, args: ["${USER}-arg"], inline: """
        echo "${HOME}" $$ $(id -u) ${UNSET:-x} \
          continued \n \$ \\
        """
      """#
    let body = try shell(source, ["USER": "dev"])
    #expect(body.inline == #"echo "${HOME}" $$ $(id -u) ${UNSET:-x} \"# + "\n" + #"  continued \n \$ \\"#)
    #expect(body.env == ["WHO": "dev"])
    #expect(body.args == ["dev-arg"])
  }

  @Test func oneLineBodyKeepsItsEscapesButNoInterpolation() throws {
    let body = try shell(#"provision shell, inline: "printf \"%s\\n\" ${HOME} $$ \$x""#)
    #expect(body.inline == #"printf "%s\n" ${HOME} $$ $x"#)
  }

  @Test func unsetVariablesAndBadEscapesInABodyAreTheShells() {
    let source = "provision shell, inline: \"\"\"\n  echo ${NOT_SET} ${index} \\q\n  \"\"\"\n"
    let (spec, diagnostics) = Machinefile.check(source: source, fileName: "Machinefile", environment: [:])
    #expect(diagnostics.isEmpty, "\(diagnostics)")
    #expect(spec != nil)
  }

  @Test func aBadEscapeInAnotherMultiLineStringIsStillAnError() {
    let source = "hostname \"\"\"\n  a\\q\n  \"\"\"\n"
    let messages = Machinefile.check(source: source, fileName: "Machinefile", environment: [:]).diagnostics
      .map(\.message)
    #expect(messages.contains { $0.hasPrefix("invalid escape '\\q'") }, "\(messages)")
  }

  @Test func triggerCommandsAreVerbatim() throws {
    let source = """
      trigger before: up, run: "echo ${PWD} $$", run_remote: \"\"\"
        test -n "${HOSTNAME}" \\
          && echo ok
        \"\"\"
      """
    let spec = try Machinefile.load(source: source, fileName: "Machinefile", environment: [:])
    let trigger = try #require(spec.machines[0].triggers.first)
    #expect(trigger.run == "echo ${PWD} $$")
    #expect(trigger.runRemote == "test -n \"${HOSTNAME}\" \\\n  && echo ok")
  }

  @Test func postinstallBodiesAreVerbatim() throws {
    let source = """
      build "me/box", version: "1.0" {
        strategy rootfs
        from suite: "bookworm"
        postinstall shell, inline: \"\"\"
          for u in a b; do echo "${u}" $$; done \\
            ; true
          \"\"\"
        output "out/box.box"
      }
      """
    let (spec, diagnostics) = Boxfile.check(
      source: source, path: "/work/boxes/b/Boxfile", shownAs: "Boxfile", variables: [:], environment: [:])
    #expect(diagnostics.isEmpty, "\(diagnostics)")
    guard case .shell(let step)? = spec?.postinstall.first?.kind else {
      Issue.record("no shell postinstall")
      return
    }
    #expect(step.inline == "for u in a b; do echo \"${u}\" $$; done \\\n  ; true")
  }
}
