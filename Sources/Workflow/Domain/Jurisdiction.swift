import Foundation

/// Why an agency must keep a 287(g) agreement under s. 908.11(1), F.S.
public enum MandatoryReason: String, Sendable, Hashable, Codable {
    /// A sheriff's office (including the consolidated Jacksonville Sheriff's Office).
    case sheriffsOffice = "sheriffs_office"
    /// A county corrections department, division or correctional facility: the
    /// operator of a county detention facility (Miami Dade Corrections and
    /// Rehabilitation, Orange/Osceola County Corrections Department, Volusia County
    /// Division of Corrections, Jackson County Correctional Facility).
    case countyCorrections = "county_corrections"
    /// A Board of County Commissioners holding a jail model (WSO or JEM): it runs the
    /// county jail (Pasco, Escambia, Okaloosa, Gulf).
    case countyCommissionJail = "county_commission_jail"
}

/// Whether, and why, an agency must keep a 287(g) agreement.
///
/// s. 908.11(1), F.S. (2025): "The sheriff or the chief correctional officer operating a
/// county detention facility must enter into a written agreement with [ICE] to
/// participate in the immigration program established under 8 U.S.C. s. 1357(g)".
/// The duty is continuing (DESIGN.md rule 3: it must keep one). We read it as:
/// - any agency whose name (slug) contains `sheriffs-office`, unless ICE types it
///   `State Agency`;
/// - a `County` agency whose name contains `corrections`, `correctional` or `detention`;
/// - a `County` agency named `... Board of County Commissioners` holding a jail model
///   (WSO or JEM): in Florida such a board holds the jail agreement when it runs the jail.
/// State agencies are never county detention operators (the Florida Department of
/// Corrections runs state prisons). Municipal police, port and airport police,
/// universities and colleges are not covered.
///
/// - Parameters:
///   - agencyName: the name as ICE prints it (the slug is what is tested, so
///     "Miami Dade Sheriff's Office" and "Miami-Dade SO" agree).
///   - agencyType: ICE's TYPE column for the agency.
///   - models: the models of the agreements the agency holds (not terminated).
public func mandatoryAgreementReason(agencyName: String, agencyType: AgencyType,
                                     models: some Sequence<Model>) -> MandatoryReason? {
    guard agencyType != .stateAgency else { return nil }
    // Searched byte by byte: a slug is ASCII (a-z, 0-9, -), so this is `String.contains`
    // without Foundation's Unicode search (which cost a tenth of a rebuild check).
    let slug = Array(("-" + AgencyID.slug(of: agencyName) + "-").utf8)
    func contains(_ word: String) -> Bool {
        let word = Array(word.utf8)
        guard word.count <= slug.count else { return false }
        return (0...(slug.count - word.count)).contains { slug[$0..<($0 + word.count)].elementsEqual(word) }
    }
    if contains("-sheriffs-office-") { return .sheriffsOffice }
    // An unknown TYPE (an edition without the column): the name decides, as for County.
    guard agencyType == .county || agencyType == .unknown else { return nil }
    if ["-corrections-", "-correctional-", "-detention-"].contains(where: contains) {
        return .countyCorrections
    }
    if contains("-board-of-county-commissioners-"), models.contains(where: { $0.isJailModel }) {
        return .countyCommissionJail
    }
    return nil
}

/// True when s. 908.11(1), F.S. obliges the agency to keep a 287(g) agreement
/// (see `mandatoryAgreementReason(agencyName:agencyType:models:)`).
public func mustKeepAgreement(agencyName: String, agencyType: AgencyType, models: some Sequence<Model>) -> Bool {
    mandatoryAgreementReason(agencyName: agencyName, agencyType: agencyType, models: models) != nil
}
