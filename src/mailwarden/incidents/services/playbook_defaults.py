"""The playbooks mailwarden ships, one per incident type.

Written for this project from the published public guidance on suspicious mail and packages
(the postal inspection service's, the FBI's and DHS's posters and checklists) and on bomb
threats (CISA's bomb threat guide and checklist): the same order of priorities, in our own
words and fitted to a mailroom. Sites adapt them in the console; the data migration and
:func:`mailwarden.incidents.services.playbooks.install_default_playbooks` only add the ones
missing, never overwrite an edited one.

Plain data (no models), so the migration that installs them can read it too.
"""

from __future__ import annotations

from typing import TypedDict


class StepData(TypedDict):
    title: str
    instructions: str
    role: str
    target_minutes: int
    action: str
    message: str


class PlaybookData(TypedDict):
    incident_type: str
    name: str
    description: str
    steps: list[StepData]


def _step(
    title: str,
    instructions: str,
    role: str,
    target_minutes: int,
    act: str = "",
    message: str = "",
) -> StepData:
    return {
        "title": title,
        "instructions": instructions,
        "role": role,
        "target_minutes": target_minutes,
        "action": act,
        "message": message,
    }


MANAGER = "security_manager"
OPERATOR = "security_operator"
SCREENER = "screener"
CLERK = "clerk"

_TEAM_ALERT = (
    "Incident {reference} at {site}: {title}. Its playbook has started. Join the response in "
    "the console, and keep away from the area unless you are assigned to it."
)

DEFAULT_PLAYBOOKS: tuple[PlaybookData, ...] = (
    {
        "incident_type": "suspicious_package",
        "name": "Suspicious package",
        "description": (
            "A letter or parcel that looks wrong: unexpected, oddly addressed, lopsided, stained, "
            "leaking, with wires or foil showing, or flagged by the X-ray. Treat it as dangerous "
            "until the authorities say otherwise."
        ),
        "steps": [
            _step(
                "Do not open, shake or smell it",
                "Leave the item where it is. Do not open it, shake it, sniff it, tip it to look "
                "inside or run it through the X-ray again. Keep your hands away from your face.",
                SCREENER,
                0,
            ),
            _step(
                "Isolate it and leave the room",
                "Make sure nobody else touches it. Everyone leaves the room and the door is closed "
                "behind them; nobody carries the item out.",
                SCREENER,
                2,
            ),
            _step(
                "Hold all mail at the site",
                "Stop every hand-over at the site so nothing that shared the sorting area with "
                "the item leaves the mailroom until the site is declared safe.",
                OPERATOR,
                3,
                "hold_site_mail",
            ),
            _step(
                "Shut off ventilation",
                "Switch off the heating, ventilation and air conditioning serving the area (or "
                "ask facilities to), and turn off fans that move air out of the room.",
                OPERATOR,
                5,
            ),
            _step(
                "Evacuate to the set distance",
                "Move everyone out of the area to the site's assembly point at its set stand-off "
                "distance, away from windows. Keep phones and radios away from the item.",
                OPERATOR,
                10,
            ),
            _step(
                "Alert the security team",
                "Tell the security managers so the response has someone in charge.",
                MANAGER,
                10,
                "send_message",
                _TEAM_ALERT,
            ),
            _step(
                "Call law enforcement",
                "Call the emergency number and report a suspicious mail item, the site's address "
                "and where the item is. For an item that came by post, also tell the postal "
                "inspection service.",
                MANAGER,
                10,
            ),
            _step(
                "List everyone present",
                "Write down everyone who was in the room or touched the item, how to reach them "
                "and where they are now, and hand the list to the responders.",
                OPERATOR,
                20,
            ),
            _step(
                "Preserve evidence",
                "Keep the item, its packaging, labels and anything found with it exactly as they "
                "are. Note who knows what about it; photograph only from a distance; throw "
                "nothing away.",
                OPERATOR,
                30,
            ),
            _step(
                "Wash hands",
                "Everyone who handled the item washes their hands with soap and water.",
                SCREENER,
                30,
            ),
        ],
    },
    {
        "incident_type": "suspicious_substance",
        "name": "Suspicious powder or substance",
        "description": (
            "Powder, liquid or residue from a letter or parcel, or found in the mailroom. Assume "
            "it is harmful and keep it where it is."
        ),
        "steps": [
            _step(
                "Do not clean it up",
                "Leave the substance alone: do not wipe, sweep, brush or blow it. If it spilled, "
                "cover it gently with paper or an empty bin without touching it.",
                SCREENER,
                0,
            ),
            _step(
                "Leave the room and close the door",
                "Everyone leaves the room and the door is closed. Keep others from going in.",
                SCREENER,
                2,
            ),
            _step(
                "Hold all mail at the site",
                "Stop every hand-over at the site until the substance is identified.",
                OPERATOR,
                3,
                "hold_site_mail",
            ),
            _step(
                "Shut off ventilation",
                "Switch off the heating, ventilation and air conditioning for the area so nothing "
                "is carried through the building.",
                OPERATOR,
                5,
            ),
            _step(
                "Alert the security team",
                "Tell the security managers so the response has someone in charge.",
                MANAGER,
                5,
                "send_message",
                _TEAM_ALERT,
            ),
            _step(
                "Call law enforcement and emergency services",
                "Call the emergency number and report a possible hazardous substance in the mail, "
                "the site's address and where it is.",
                MANAGER,
                10,
            ),
            _step(
                "Keep exposed people apart and washed",
                "Anyone who may have substance on them stays nearby, apart from others, washes "
                "hands and face with soap and water and waits for the responders. Bag outer "
                "clothing if the responders ask.",
                OPERATOR,
                10,
            ),
            _step(
                "List everyone present",
                "Write down everyone who was in the room or near the item, how to reach them and "
                "where they are now, and hand the list to the responders.",
                OPERATOR,
                20,
            ),
            _step(
                "Preserve evidence",
                "Leave the item and its packaging in place for the responders; note who handled "
                "it and when.",
                OPERATOR,
                30,
            ),
        ],
    },
    {
        "incident_type": "bomb_threat",
        "name": "Bomb threat",
        "description": (
            "A threat by phone, in writing, by email or in person that a device is at the site. "
            "Take every threat seriously; the details of the threat guide the decisions."
        ),
        "steps": [
            _step(
                "Record the threat",
                "On a call: stay calm, keep the caller talking and do not hang up; write down the "
                "exact words, the voice, background sounds and any number shown, using the bomb "
                "threat checklist. A written threat is handled as little as possible.",
                CLERK,
                0,
            ),
            _step(
                "Call law enforcement",
                "Call the emergency number from a phone away from the area and pass on what was "
                "recorded.",
                MANAGER,
                5,
            ),
            _step(
                "Alert the security team",
                "Tell the security operators on duty.",
                OPERATOR,
                5,
                "send_message",
                _TEAM_ALERT,
            ),
            _step(
                "Control entry: lock down the site's doors",
                "Lock every door against cards so nobody new comes in; exit buttons keep working, "
                "so nobody is locked in.",
                OPERATOR,
                10,
                "lockdown_site",
            ),
            _step(
                "Decide: evacuate, shelter or carry on",
                "With law enforcement, decide whether to evacuate, shelter in place or carry on, "
                "and tell everyone. Do not use radios or phones near a suspected device.",
                MANAGER,
                15,
            ),
            _step(
                "Look for anything out of place",
                "People who know each area look for items that do not belong there. Do not touch "
                "what you find: note where it is, move away and report it.",
                OPERATOR,
                20,
            ),
            _step(
                "Evacuate to the set distance if ordered",
                "Move everyone to the assembly point at the site's stand-off distance, by routes "
                "that have been checked, away from windows and parked vehicles.",
                OPERATOR,
                30,
            ),
            _step(
                "Preserve the threat record",
                "Keep the checklist, any recording, the written threat, email or message with its "
                "headers, and a note of who has held them.",
                OPERATOR,
                30,
            ),
        ],
    },
    {
        "incident_type": "forced_entry",
        "name": "Forced entry or unauthorised access",
        "description": (
            "A door forced or held open, a break-in, or someone in an area they may not be in."
        ),
        "steps": [
            _step(
                "Do not confront anyone",
                "Watch from a safe place and on the cameras; never challenge an intruder alone.",
                OPERATOR,
                0,
            ),
            _step(
                "Lock down the site's doors",
                "Lock every door against cards; exit buttons keep working, so nobody is locked in.",
                OPERATOR,
                2,
                "lockdown_site",
            ),
            _step(
                "Alert the security team",
                "Tell the security managers so the response has someone in charge.",
                MANAGER,
                2,
                "send_message",
                _TEAM_ALERT,
            ),
            _step(
                "Call law enforcement",
                "If someone may still be inside or anything was damaged or taken, call the "
                "emergency number.",
                MANAGER,
                5,
            ),
            _step(
                "Hold all mail at the site",
                "Stop every hand-over until the items the intruder could reach have been checked.",
                OPERATOR,
                10,
                "hold_site_mail",
            ),
            _step(
                "Find out what was reached",
                "Check the door, its events and the camera footage, and list the areas and items "
                "that could have been reached.",
                OPERATOR,
                15,
            ),
            _step(
                "Check the items against custody",
                "Compare what is on the shelves and in quarantine with the custody records and "
                "report anything missing or disturbed.",
                CLERK,
                30,
            ),
            _step(
                "Preserve evidence",
                "Keep the footage, door events and any damage as found until they are recorded.",
                OPERATOR,
                30,
            ),
            _step(
                "Secure the door",
                "Have the door repaired or guarded, then lift the lockdown when the site is safe.",
                MANAGER,
                60,
            ),
        ],
    },
    {
        "incident_type": "tampering_theft",
        "name": "Tampering or theft",
        "description": "An item opened, resealed, damaged on purpose, swapped or missing.",
        "steps": [
            _step(
                "Leave the item as found",
                "Do not reseal, repack or throw away anything; handle it as little as possible.",
                CLERK,
                0,
            ),
            _step(
                "Alert the security team",
                "Tell the security managers so the response has someone in charge.",
                MANAGER,
                5,
                "send_message",
                _TEAM_ALERT,
            ),
            _step(
                "Hold all mail at the site",
                "Stop every hand-over until the other items have been checked for the same "
                "tampering.",
                OPERATOR,
                10,
                "hold_site_mail",
            ),
            _step(
                "Trace the item's custody",
                "Read its custody record: who received, moved and held it, and when it was last "
                "seen as expected.",
                CLERK,
                15,
            ),
            _step(
                "Check cameras and door events",
                "Look at the footage and access events for the places and times on the custody "
                "record.",
                OPERATOR,
                30,
            ),
            _step(
                "Preserve evidence",
                "Keep the item, its packaging and the records as found, and note who holds them.",
                OPERATOR,
                30,
            ),
            _step(
                "Tell the recipient, the sender and the police",
                "Inform the recipient and the carrier or sender, and report a theft or a crime to "
                "law enforcement.",
                MANAGER,
                60,
            ),
        ],
    },
    {
        "incident_type": "unattended_item",
        "name": "Unattended item",
        "description": "A bag, box or parcel left where it should not be, with nobody claiming it.",
        "steps": [
            _step(
                "Do not touch or move it",
                "Leave it where it is and keep people back.",
                CLERK,
                0,
            ),
            _step(
                "Ask whose it is",
                "Ask the people nearby whether it is theirs or who left it. If its owner is found "
                "and it is what it seems, record that and close the incident.",
                CLERK,
                2,
            ),
            _step(
                "Judge whether it is suspicious",
                "Is it hidden on purpose, plainly suspicious (wires, liquid, a smell, a threat "
                "written on it), or not what you would expect to find here? If any, treat it as "
                "a suspicious package.",
                OPERATOR,
                5,
            ),
            _step(
                "Alert the security operators",
                "Tell the operators on duty.",
                OPERATOR,
                5,
                "send_message",
                _TEAM_ALERT,
            ),
            _step(
                "Clear the area",
                "Move people away to a safe distance and keep them out.",
                OPERATOR,
                10,
            ),
            _step(
                "Call law enforcement if it is suspicious",
                "Call the emergency number and report the item and where it is.",
                MANAGER,
                15,
            ),
            _step(
                "Record what was found",
                "Note where and when it was found, by whom, and what became of it.",
                OPERATOR,
                30,
            ),
        ],
    },
)
