"""Reference data of the sample: regions, their delivery habits, towns and names."""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)

# --------------------------------------------------------------------------------------------
# Reference data: regions, towns, names
# --------------------------------------------------------------------------------------------

# code: (structures at scale 1, delivery shape, period, presets)
_REGION_PLAN: dict[str, tuple[int, str, str, tuple[str, ...]]] = {
    "01": (3, "structure", "quarter", ("xlsx",)),
    "02": (3, "structure", "month", ("cp1252",)),
    "03": (2, "structure", "quarter", ("utf8bom",)),
    "04": (5, "structure", "month", ("xlsx", "tab")),
    "06": (2, "structure", "quarter", ("tab",)),
    "11": (40, "region", "month", ("xlsx",)),
    "24": (10, "structure", "quarter", ("xlsx", "cp1252")),
    "27": (10, "region", "month", ("cp1252",)),
    "28": (12, "structure", "quarter", ("xlsx", "utf8bom")),
    "32": (24, "region", "month", ("tab",)),
    "44": (20, "region", "month", ("cp1252",)),
    "52": (16, "structure", "quarter", ("nnbsp",)),
    "53": (12, "structure", "quarter", ("xlsx",)),
    "75": (24, "region", "month", ("utf8bom",)),
    "76": (24, "region", "month", ("xlsx_split",)),
    "84": (28, "structure", "quarter", ("cp1252", "xlsx", "tab", "nnbsp")),
    "93": (18, "region", "month", ("xlsx",)),
    "94": (2, "structure", "month", ("cp1252",)),
}

_TOWNS: dict[str, tuple[str, ...]] = {
    "01": ("Pointe-à-Pitre", "Les Abymes", "Basse-Terre", "Baie-Mahault", "Le Gosier"),
    "02": ("Fort-de-France", "Le Lamentin", "Schœlcher", "Le Robert", "Sainte-Marie"),
    "03": ("Cayenne", "Kourou", "Saint-Laurent-du-Maroni", "Matoury"),
    "04": ("Saint-Denis", "Saint-Pierre", "Le Port", "Saint-Paul", "Le Tampon"),
    "06": ("Mamoudzou", "Koungou", "Dzaoudzi"),
    "11": (
        "Paris",
        "Saint-Denis",
        "Créteil",
        "Nanterre",
        "Évry-Courcouronnes",
        "Cergy",
        "Versailles",
        "Montreuil",
        "Argenteuil",
        "Meaux",
        "Aubervilliers",
        "Melun",
    ),
    "24": ("Orléans", "Tours", "Bourges", "Blois", "Chartres", "Châteauroux"),
    "27": ("Dijon", "Besançon", "Belfort", "Auxerre", "Chalon-sur-Saône", "Nevers", "Mâcon"),
    "28": ("Rouen", "Caen", "Le Havre", "Cherbourg-en-Cotentin", "Évreux", "Alençon"),
    "32": ("Lille", "Amiens", "Roubaix", "Dunkerque", "Lens", "Valenciennes", "Beauvais", "Calais"),
    "44": ("Strasbourg", "Reims", "Metz", "Mulhouse", "Nancy", "Troyes", "Colmar"),
    "52": ("Nantes", "Angers", "Le Mans", "Saint-Nazaire", "La Roche-sur-Yon", "Laval"),
    "53": ("Rennes", "Brest", "Lorient", "Quimper", "Saint-Brieuc", "Vannes"),
    "75": ("Bordeaux", "Limoges", "Poitiers", "La Rochelle", "Pau", "Angoulême", "Niort"),
    "76": ("Toulouse", "Montpellier", "Nîmes", "Perpignan", "Béziers", "Albi", "Tarbes"),
    "84": (
        "Lyon",
        "Grenoble",
        "Saint-Étienne",
        "Clermont-Ferrand",
        "Villeurbanne",
        "Annecy",
        "Valence",
        "Chambéry",
    ),
    "93": ("Marseille", "Nice", "Toulon", "Avignon", "Aix-en-Provence", "Cannes"),
    "94": ("Ajaccio", "Bastia", "Porto-Vecchio"),
}

# (name template, catégorie juridique, local authority, weight)
_STRUCTURE_TYPES: tuple[tuple[str, str, bool, float], ...] = (
    ("PLIE de {t}", "9220", False, 0.20),
    ("Maison de l'emploi de {t}", "9220", False, 0.15),
    ("Association Insertion et Emploi {t}", "9220", False, 0.10),
    ("Commune de {t}", "7210", True, 0.08),
    ("Département – antenne de {t}", "7220", True, 0.06),
    ("Communauté d'agglomération de {t}", "7348", True, 0.10),
    ("Communauté de communes du Pays de {t}", "7346", True, 0.06),
    ("Métropole de {t}", "7344", True, 0.05),
    ("GIP Emploi Insertion {t}", "7410", False, 0.12),
    ("Agence publique pour l'emploi de {t}", "7389", False, 0.08),
)

_COFINANCEURS = (
    "Conseil départemental",
    "Commune",
    "Communauté d'agglomération",
    "FSE+",
    "Région",
    "Métropole",
    "Bailleurs sociaux",
    "Caisse des dépôts",
)
_BUYER_TYPE_WEIGHTS = (8, 7, 35, 14, 14, 6, 6, 6, 4)  # in TYPE_DONNEUR_ORDRE order
_BUYER_NAMES = {
    "État": "Préfecture",
    "Établissement public de l'État": "Université",
    "Collectivité territoriale": "Ville",
    "Établissement public local": "Syndicat mixte",
    "Bailleur social": "Office public de l'habitat",
    "Établissement de santé": "Centre hospitalier",
    "Entreprise publique": "Société publique locale",
    "Acheteur privé": "Promoteur",
    "Autre": "Association",
}
_EMPLOYER_TYPE_WEIGHTS = {
    "Entreprise": 60,
    "ETT": 8,
    "EI": 6,
    "ETTI": 8,
    "AI": 4,
    "ACI": 5,
    "EA": 3,
    "ESAT": 2,
    "GEIQ": 4,
}
_MODALITE_BY_EMPLOYER: dict[str, tuple[tuple[str, int], ...]] = {
    "Entreprise": (
        ("CDD", 40),
        ("CDI", 20),
        ("Apprentissage", 10),
        ("Contrat de professionnalisation", 8),
        ("Formation", 4),
        ("Autre", 3),
    ),
    "ETT": (("Intérim", 1),),
    "EI": (("Contrat d'insertion SIAE", 1),),
    "ACI": (("Contrat d'insertion SIAE", 1),),
    "ETTI": (("Mise à disposition ETTI", 1),),
    "AI": (("Mise à disposition AI", 1),),
    "EA": (("CDD", 3), ("CDI", 2)),
    "ESAT": (("Autre", 1), ("CDD", 1)),
    "GEIQ": (("Contrat de professionnalisation", 3), ("Apprentissage", 1)),
}
_PUBLIC_WEIGHTS = (30, 25, 5, 5, 8, 20, 8, 15, 6, 3)  # in PUBLIC_PRIORITAIRE order
_MARKET_OBJETS = {
    "Travaux": (
        "Réhabilitation du groupe scolaire {t}",
        "Construction d'un gymnase à {t}",
        "Rénovation énergétique de 120 logements, {t}",
        "Voirie et réseaux divers, {t}",
        "Extension du tramway ; lot génie civil",
        'Démolition-reconstruction, quartier "les Tilleuls"',
    ),
    "Services": (
        "Nettoyage des locaux administratifs",
        "Entretien des espaces verts de {t}",
        "Collecte des déchets ménagers",
        "Restauration scolaire, {t}",
        "Gardiennage",
        "Blanchisserie hospitalière",
    ),
    "Fournitures": (
        "Fourniture de mobilier scolaire",
        "Fourniture de repas",
        "Fourniture de vêtements de travail",
        "Fourniture de matériel informatique",
    ),
}
_CONTACT_OBJETS = (
    "Présentation de la démarche clauses",
    "Aide à la rédaction d'une clause",
    "Calibrage des heures d'insertion",
    "Réunion de lancement de chantier",
    "Suivi d'exécution",
    "Bilan de fin de marché",
    None,
    None,
)
_PARTNERS: tuple[tuple[str, str], ...] = (
    ("France Travail {t}", "Service public de l'emploi"),
    ("Mission locale de {t}", "Service public de l'emploi"),
    ("Cap emploi {t}", "Service public de l'emploi"),
    ("ACI Jardins de {t}", "SIAE"),
    ("ETTI Intérim Solidaire {t}", "SIAE"),
    ("ESAT Les Ateliers de {t}", "EA-ESAT"),
    ("GEIQ BTP {t}", "GEIQ"),
    ("AFPA {t}", "Organisme de formation"),
    ("GRETA {t}", "Organisme de formation"),
    ("Ville de {t}", "Collectivité"),
    ("Fédération du BTP, section {t}", "Entreprise"),
    ("CRESS, antenne de {t}", "Autre"),
)
_PARTNER_OBJETS = (
    "Convention de partenariat",
    "Job dating",
    "Information collective",
    "Parcours de formation",
    "Forum de l'emploi",
    None,
)
_NOMS = (
    "Martin",
    "Bernard",
    "Dubois",
    "Thomas",
    "Robert",
    "Richard",
    "Petit",
    "Durand",
    "Leroy",
    "Moreau",
    "Simon",
    "Laurent",
    "Lefèvre",
    "Michel",
    "García",
    "N'Diaye",
)
_PRENOMS_F = ("Marie", "Fatou", "Léa", "Sarah", "Nadia", "Chloé", "Inès", "Julie")
_PRENOMS_H = ("Karim", "Lucas", "Mamadou", "Hugo", "Yanis", "Théo", "Julien", "Nicolas")
_QUALITATIF = (
    "Montée en charge conforme ; forte mobilisation des bailleurs.",
    "Difficultés de recrutement sur le BTP, reprise au 2e semestre.",
    "Partenariat renforcé avec France Travail et les SIAE du territoire.",
    'Nouveaux acheteurs : hôpital, "SPL Aménagement", syndicat des eaux.',
    None,
)
_SEASON = {
    1: 0.9,
    2: 1.0,
    3: 1.05,
    4: 1.05,
    5: 1.0,
    6: 1.05,
    7: 0.85,
    8: 0.55,
    9: 1.0,
    10: 1.1,
    11: 1.05,
    12: 0.85,
}
_MEAN_ROW_HOURS = 10 + 141 * 1.4 / 3.4  # expectation of the hours drawn per row
_ROWS_PER_PARTICIPANT_MONTH = 1.35  # several missions in a month
