import Mustache

// The register renders hundreds of rows and options: these views answer the template's
// lookups by name instead of through Mirror reflection (several times faster). A nil
// optional is returned as nil, as Mirror's lookup does, so the template's behaviour is the same.

extension RegisterView.Row: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "href": return href
        case "agencyName": return agencyName
        case "county": return county
        case "modelName": return modelName
        case "signedOn": return signedOn
        case "state": return state
        case "stateLabel": return stateLabel
        case "endedOn": return endedOn
        case "endWord": return endWord
        case "edition": return edition
        case "notListed": return notListed
        default: return nil
        }
    }
}

extension OptionView: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "value": return value
        case "label": return label
        case "selected": return selected
        default: return nil
        }
    }
}

extension ChartView.Bar: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "label": return label
        case "value": return value
        case "y": return y
        case "textY": return textY
        case "barX": return barX
        case "barWidth": return barWidth
        case "barHeight": return barHeight
        case "valueX": return valueX
        default: return nil
        }
    }
}

extension EventView: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "position": return position
        case "previous": return previous
        case "stream": return stream
        case "version": return version
        case "legalDate": return legalDate
        case "type": return type
        case "summary": return summary
        case "actor": return actor
        case "recordedAt": return recordedAt
        case "hash": return hash
        case "hashShort": return hashShort
        case "prevHash": return prevHash
        case "decisionDate": return decisionDate
        default: return nil
        }
    }
}
