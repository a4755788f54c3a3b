internal import CLibvirt
import Glibc
import Support

/// Saved memory (libvirt managed save) and pausing.
extension Domain {
  /// Saves the guest's memory to a file libvirt manages and stops the domain;
  /// the next `start()` restores it, also after a host reboot or a libvirtd
  /// restart. The guest comes back running, even when it was paused.
  public func managedSave() throws {
    try check(
      virDomainManagedSave(handle, VIR_DOMAIN_SAVE_RUNNING.rawValue), "save the memory of domain '\(name)'")
  }

  /// True when a managed save image waits for the next `start()`.
  public func hasManagedSaveImage() throws -> Bool {
    try check(virDomainHasManagedSaveImage(handle, 0), "ask whether domain '\(name)' has saved memory") == 1
  }

  /// Deletes the managed save image, so the next `start()` boots afresh.
  public func removeManagedSave() throws {
    try check(virDomainManagedSaveRemove(handle, 0), "discard the saved memory of domain '\(name)'")
  }

  /// The domain definition the managed save image restores with.
  public func managedSaveXML() throws -> String {
    try takeString(
      virDomainManagedSaveGetXMLDesc(handle, VIR_DOMAIN_SAVE_IMAGE_XML_SECURE.rawValue),
      "read the saved definition of domain '\(name)'")
  }

  /// Replaces the definition in the managed save image (same guest ABI: only
  /// what QEMU is started with may differ, such as its forwards).
  public func redefineManagedSave(xml: String) throws {
    try check(virDomainManagedSaveDefineXML(handle, xml, 0), "change the saved definition of domain '\(name)'")
  }

  /// Pauses the guest's CPUs (`virsh suspend`); its memory stays in QEMU.
  public func pause() throws { try check(virDomainSuspend(handle), "pause domain '\(name)'") }

  /// Lets a paused guest run again (`virsh resume`).
  public func resume() throws { try check(virDomainResume(handle), "resume domain '\(name)'") }

  /// True while a QEMU process runs it (running, paused or shutting down).
  public func isActive() throws -> Bool {
    try check(virDomainIsActive(handle), "ask whether domain '\(name)' is active") == 1
  }
}
