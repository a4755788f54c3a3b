import Boxes
import Core
import Host
import LibvirtDriver
import Spec

/// The box installer, reporting its steps on the console.
func makeInstaller(_ store: BoxStore, toStandardError: Bool = false) -> BoxInstaller {
  let installer = BoxInstaller(store: store)
  installer.report(to: ConsoleReporter(toStandardError: toStandardError), as: "box")
  return installer
}

/// The libvirt connection box commands use (no Machinefile needed).
func boxHypervisor() throws -> LibvirtHypervisor {
  try LibvirtHypervisor(uri: defaultLibvirtURI(configured: nil), lockDirectory: CaravanPaths.home() + "/locks")
}

/// The Machinefile's machines, for box commands that act on a project's boxes.
func projectMachines(_ variables: VariableOptions) -> () throws -> [MachineSpec] {
  { try Context(variables).project.spec.machines }
}
