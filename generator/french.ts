import type { Rng } from './random.ts';

/**
 * Realistic French business data for the simulated wholesaler: company names, addresses,
 * cities, product labels, brands, reps. Only characters that exist in Windows-1252
 * (accents, `’`, `œ`, `€`, `°`, `½`, `ÿ`), checked by a round-trip test.
 */

/** Cities with their postal code and the depot that serves them. */
export const cities: readonly { name: string; postalCode: string; depot: string }[] = [
  { name: 'Lyon', postalCode: '69003', depot: 'LYO' },
  { name: 'Villeurbanne', postalCode: '69100', depot: 'LYO' },
  { name: 'Saint-Étienne', postalCode: '42000', depot: 'LYO' },
  { name: 'Besançon', postalCode: '25000', depot: 'LYO' },
  { name: 'Chambéry', postalCode: '73000', depot: 'LYO' },
  { name: 'Annecy', postalCode: '74000', depot: 'LYO' },
  { name: 'Grenoble', postalCode: '38000', depot: 'LYO' },
  { name: 'Bourg-en-Bresse', postalCode: '01000', depot: 'LYO' },
  { name: 'Mâcon', postalCode: '71000', depot: 'LYO' },
  { name: 'Dijon', postalCode: '21000', depot: 'LYO' },
  { name: 'L’Haÿ-les-Roses', postalCode: '94240', depot: 'LYO' },
  { name: 'Valence', postalCode: '26000', depot: 'MRS' },
  { name: 'Marseille', postalCode: '13008', depot: 'MRS' },
  { name: 'Aix-en-Provence', postalCode: '13100', depot: 'MRS' },
  { name: 'Toulon', postalCode: '83000', depot: 'MRS' },
  { name: 'Nîmes', postalCode: '30000', depot: 'MRS' },
  { name: 'Montpellier', postalCode: '34000', depot: 'MRS' },
  { name: 'Avignon', postalCode: '84000', depot: 'MRS' },
  { name: 'Arles', postalCode: '13200', depot: 'MRS' },
  { name: 'Fréjus', postalCode: '83600', depot: 'MRS' },
  { name: 'Béziers', postalCode: '34500', depot: 'MRS' },
  { name: 'Nice', postalCode: '06000', depot: 'MRS' },
  { name: 'Clermont-Ferrand', postalCode: '63000', depot: 'CFD' },
  { name: 'Riom', postalCode: '63200', depot: 'CFD' },
  { name: 'Vichy', postalCode: '03200', depot: 'CFD' },
  { name: 'Montluçon', postalCode: '03100', depot: 'CFD' },
  { name: 'Aurillac', postalCode: '15000', depot: 'CFD' },
  { name: 'Le Puy-en-Velay', postalCode: '43000', depot: 'CFD' },
  { name: 'Thiers', postalCode: '63300', depot: 'CFD' },
  { name: 'Issoire', postalCode: '63500', depot: 'CFD' },
  { name: 'Limoges', postalCode: '87000', depot: 'CFD' },
  { name: 'Brive-la-Gaillarde', postalCode: '19100', depot: 'CFD' },
];

export const depotList: readonly { code: string; name: string; city: string }[] = [
  { code: 'LYO', name: 'Dépôt Lyon – Gerland', city: 'Lyon' },
  { code: 'MRS', name: 'Dépôt Marseille – Saint-Henri', city: 'Marseille' },
  { code: 'CFD', name: 'Dépôt Clermont-Ferrand – Brézet', city: 'Clermont-Ferrand' },
];

export const regions: readonly string[] = ['Rhône-Alpes', 'Provence-Côte d’Azur', 'Auvergne', 'Bourgogne-Franche-Comté', 'Languedoc', 'Limousin'];

/** The brands of the catalogue. */
export const brandList: readonly { code: string; name: string }[] = [
  { code: 'BONMAMAN', name: 'Bonne Maman' },
  { code: 'LUSTUCRU', name: 'Lustucru' },
  { code: 'PRESIDENT', name: 'Président' },
  { code: 'STMICHEL', name: 'St Michel' },
  { code: 'COTEDOR', name: 'Côte d’Or' },
  { code: 'VOLVIC', name: 'Volvic' },
  { code: 'MAILLE', name: 'Maille' },
  { code: 'LESIEUR', name: 'Lesieur' },
  { code: 'ROCHEBAR', name: 'Roche & Baradel' },
  { code: 'ARCOEUR', name: 'L’Arc-en-Cœur' },
  { code: 'SODIMO', name: 'Sodimo Sélection' },
  { code: 'PATISSO', name: 'Pâtisserie "Les Délices"; Maison Ferrière' },
];

const firstNames = ['Jean', 'Marie', 'Hélène', 'François', 'Cécile', 'Jérôme', 'Zoé', 'Loïc', 'Agnès', 'Thibault', 'Anaïs', 'Noël', 'Gaëlle', 'Benoît', 'Élodie', 'Rémi', 'Maëlle', 'Étienne', 'Léa', 'Joël'];
const lastNames = ['Dupont', 'Lefèvre', 'Girard', 'Bérard', 'Mercier', 'Rousseau', 'Faure', 'Chevalier', 'Fontaine', 'Gauthier', 'Perrin', 'Masson', 'Lemaître', 'Brûlé', 'Duchêne', 'Pélissier', 'Crémieux', 'Bouvier', 'N’Diaye', 'O’Connell'];

/** Strips accents and apostrophes for e-mail addresses. */
function ascii(text: string): string {
  return text
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[’'\s]/g, '')
    .toLowerCase();
}

/** A rep: name and e-mail (some reps have no e-mail on file). */
export function repPerson(rng: Rng): { name: string; email: string | null } {
  const first = rng.pick(firstNames);
  const last = rng.pick(lastNames);
  return { name: `${first} ${last}`, email: rng.chance(0.85) ? `${ascii(first)}.${ascii(last)}@sodimo.fr` : null };
}

const trades = ['Boulangerie', 'Épicerie', 'Restaurant', 'Brasserie', 'Café', 'Pâtisserie', 'Supérette', 'Traiteur', 'Crêperie', 'Hôtel-Restaurant', 'Cave', 'Fromagerie', 'Bistrot', 'Snack', 'Collège', 'EHPAD'];
const tradeNames = ['du Marché', 'de la Gare', 'des Halles', 'Saint-Jean', 'du Vieux Port', 'de l’Église', 'Les Tilleuls', 'Le Cœur d’Or', 'La Bonne Étoile', 'du Château', 'Chez Gégé', 'L’Œil de Bœuf', 'Les Capucins', 'de la Fontaine', 'Au Petit Mâchon', 'Le Relais Fleuri'];
const legalForms = ['SARL', 'SAS', 'EURL', 'SA', 'SNC', 'SASU'];
const connectors = ['& Fils', '& Cie', 'Frères', 'et Associés'];

/** A realistic customer company name; a few carry `;` and double quotes, as real ERPs do. */
export function companyName(rng: Rng, tricky = false): string {
  if (tricky || rng.chance(0.03)) {
    return `${rng.pick(trades)} "${rng.pick(['Au Bon Pain', 'Le Fournil', 'La Mie Dorée', 'L’Épi d’Or'])}"; ${rng.pick(lastNames)} ${rng.pick(connectors)}`;
  }
  const form = rng.pick(legalForms);
  switch (rng.int(0, 3)) {
    case 0:
      return `${form} ${rng.pick(trades)} ${rng.pick(tradeNames)}`;
    case 1:
      return `${rng.pick(trades)} ${rng.pick(lastNames)} ${rng.pick(connectors)}`;
    case 2:
      return `${form} ${rng.pick(lastNames)}-${rng.pick(lastNames)}`;
    default:
      return `${rng.pick(trades)} ${rng.pick(tradeNames)} (${form})`;
  }
}

const streetKinds = ['rue', 'avenue', 'boulevard', 'place', 'chemin', 'impasse', 'quai', 'allée'];
const streetNames = ['Victor Hugo', 'de la République', 'Jean Jaurès', 'du Général de Gaulle', 'des Écoles', 'Émile Zola', 'de l’Hôtel de Ville', 'Pasteur', 'des Œillets', 'Saint-Exupéry', 'Gambetta', 'du 8 Mai 1945', 'des Frères Lumière', 'de Bourgogne', 'Blaise Pascal'];

/** A street address; some have a building or "ZI" complement. */
export function streetAddress(rng: Rng): string {
  const number = rng.int(1, 180);
  const suffix = rng.chance(0.08) ? rng.pick([' bis', ' ter']) : '';
  const base = `${number}${suffix} ${rng.pick(streetKinds)} ${rng.pick(streetNames)}`;
  return rng.chance(0.1) ? `${base}, ${rng.pick(['Bât. B', 'ZI Nord', 'ZA des Près', '2ème étage'])}` : base;
}

/** Product families with their unit, VAT rate (basis points), price range (cents) and label makers. */
export const families: readonly { name: string; unit: string; vatBp: number; priceCents: [number, number]; labels: readonly string[] }[] = [
  { name: 'Épicerie salée', unit: 'U', vatBp: 550, priceCents: [80, 900], labels: ['Moutarde de Dijon 370 g', 'Huile d’olive vierge extra 1 L', 'Pâtes coquillettes 500 g', 'Cornichons extra-fins ½ bocal', 'Sel de Guérande 1 kg', 'Thon entier au naturel 160 g'] },
  { name: 'Épicerie sucrée', unit: 'U', vatBp: 550, priceCents: [90, 1200], labels: ['Confiture fraises 370 g', 'Chocolat noir 70 % 100 g', 'Galettes pur beurre 130 g', 'Pâte à tartiner œufs & noisettes', 'Madeleines coquille 250 g', 'Miel de lavande 500 g'] },
  { name: 'Crèmerie', unit: 'KG', vatBp: 550, priceCents: [450, 3500], labels: ['Comté AOP 18 mois', 'Beurre doux motte', 'Saint-Nectaire fermier', 'Crème fraîche épaisse 35 %', 'Bleu d’Auvergne AOP', 'Œufs frais calibre M (plateau)'] },
  { name: 'Boissons', unit: 'CT', vatBp: 2000, priceCents: [300, 4500], labels: ['Eau minérale 6 × 1,5 L', 'Jus de pomme bio 6 × 1 L', 'Sirop de menthe 1 L', 'Limonade artisanale 12 × 33 cl', 'Côtes-du-Rhône rouge 12,5° 75 cl', 'Bière blonde 5° 24 × 25 cl'] },
  { name: 'Vins & spiritueux', unit: 'U', vatBp: 2000, priceCents: [500, 8900], labels: ['Beaujolais-Villages 13° 75 cl', 'Chartreuse verte 55° 70 cl', 'Crémant de Bourgogne brut', 'Pastis 45° 1 L', 'Saint-Joseph rouge 2022', 'Cognac VSOP 40° 70 cl'] },
  { name: 'Surgelés', unit: 'KG', vatBp: 550, priceCents: [300, 2800], labels: ['Frites allumettes 2,5 kg', 'Filet de cabillaud MSC', 'Croissants pur beurre crus', 'Poêlée de légumes à l’ancienne', 'Glace vanille Bourbon 2,5 L', 'Bœuf haché 15 % MG'] },
  { name: 'Hygiène', unit: 'U', vatBp: 2000, priceCents: [120, 2500], labels: ['Savon de Marseille 300 g', 'Essuie-mains ouate ×6', 'Gel hydroalcoolique 500 ml', 'Liquide vaisselle écologique 5 L', 'Gants nitrile taille M ×100', 'Sacs poubelle 100 L ×25'] },
  { name: 'Emballage', unit: 'CT', vatBp: 2000, priceCents: [400, 6000], labels: ['Barquettes alu ½ GN ×100', 'Gobelets carton 25 cl ×1000', 'Boîtes pâtissières 24 cm', 'Film étirable 300 m', 'Serviettes ouate 2 plis ×500', 'Sacs kraft « à emporter » ×250'] },
  { name: 'Fruits & légumes', unit: 'KG', vatBp: 550, priceCents: [90, 1500], labels: ['Pommes Golden cat. I', 'Pommes de terre Charlotte', 'Lentilles vertes du Puy AOP', 'Tomates grappe', 'Oignons jaunes filet', 'Champignons de Paris'] },
  { name: 'Restauration', unit: 'L', vatBp: 1000, priceCents: [200, 2400], labels: ['Fond de veau lié 1 L', 'Sauce béarnaise prête 1 L', 'Vinaigrette à l’échalote 1 L', 'Soupe à l’oignon gratinée', 'Bouillon de volaille 1 L', 'Crème anglaise UHT 1 L'] },
  { name: 'Matériel', unit: 'M', vatBp: 2000, priceCents: [150, 3000], labels: ['Toile cirée motif provençal', 'Ruban adhésif marquage sol', 'Nappe papier damassée 1,20 m', 'Tuyau alimentaire Ø 19 mm', 'Chaîne inox maille 5 mm', 'Joint de porte froid -20 °C'] },
];

const qualifiers = ['', '', '', ' bio', ' – prix choc', ' « premium »', ' offre 2 € remboursés', ' lot ×3', ' format éco', ' édition Noël', ' 100 % français'];

/** A product label for a family, sometimes with `€`, `œ`, `°`, `½` and the like. */
export function productLabel(rng: Rng, family: (typeof families)[number]): string {
  return `${rng.pick(family.labels)}${rng.pick(qualifiers)}`;
}

/** An EAN-13 with a valid check digit (French GS1 prefixes 300–379). */
export function ean13(rng: Rng): string {
  let digits = String(rng.int(300, 379));
  for (let i = 0; i < 9; i++) digits += String(rng.int(0, 9));
  return digits + eanCheckDigit(digits);
}

/** The check digit of the 12 first digits of an EAN-13. */
export function eanCheckDigit(first12: string): string {
  let sum = 0;
  for (let i = 0; i < 12; i++) sum += Number(first12[i]) * (i % 2 === 0 ? 1 : 3);
  return String((10 - (sum % 10)) % 10);
}
