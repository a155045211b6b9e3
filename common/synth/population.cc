#include "common/synth/population.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <fstream>
#include <random>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/csv/csv_reader.h"
#include "absl/strings/str_format.h"
#include "absl/time/civil_time.h"

namespace trelink {
namespace {

const char* const kFemale[] = {
    "Amelia", "Olivia", "Isla", "Ava", "Mia", "Sophia", "Grace", "Lily", "Freya", "Emily", "Zoe", "Chloe", "Aisha",
    "Fatima", "Maryam", "Hannah", "Ella", "Evie", "Poppy", "Ruby", "Elizabeth", "Katherine", "Margaret", "Rebecca",
    "Jennifer", "Abigail", "Eleanor", "Deborah", "Sarah", "Charlotte", "Jessica", "Lucy", "Megan", "Holly", "Amy",
    "Laura", "Rachel", "Natalie", "Samantha", "Leah", "Jade", "Gemma", "Kirsty", "Stacey", "Danielle", "Nicola",
    "Siobhan", "Aoife", "Niamh", "Priya", "Anjali", "Zainab", "Khadija", "Amina", "Chiamaka", "Adaeze", "Agnieszka",
    "Zuzanna", "Ioana", "Elena"};
const char* const kMale[] = {
    "Oliver", "George", "Noah", "Arthur", "Leo", "Harry", "Oscar", "Archie", "Henry", "Jack", "Muhammad", "Theo",
    "Charlie", "Freddie", "Alfie", "Thomas", "William", "James", "Joshua", "Daniel", "Samuel", "Joseph", "Lucas",
    "Isaac", "Ethan", "Jacob", "Logan", "Mason", "Riley", "Finley", "Adam", "Yusuf", "Ibrahim", "Omar", "Ayaan",
    "Kacper", "Jakub", "Luca", "Elijah", "Reuben"};
const char* const kSurnames[] = {
    "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Robinson", "Wright", "Thompson",
    "Evans", "Walker", "White", "Roberts", "Green", "Hall", "Wood", "Jackson", "Clarke", "Patel", "Khan", "Lewis",
    "James", "Phillips", "Mason", "Mitchell", "Rose", "Davis", "Rodriguez", "Cox", "Alexander", "Morris", "Hughes",
    "Edwards", "Turner", "Harris", "Martin", "Cooper", "Hill", "Ward", "Morgan", "Baker", "Harrison", "Allen",
    "King", "Young", "Scott", "Moore", "Clark", "Lee", "Watson", "Anderson", "Carter", "Shaw", "Kelly", "Murphy",
    "O'Brien", "O'Neill", "McDonald", "MacLeod", "Begum", "Ali", "Hussain", "Ahmed", "Singh", "Kaur", "Okafor",
    "Adeyemi", "Mensah", "Nowak", "Kowalski", "Popescu", "Smith-Jones", "Ashworth", "Barraclough", "Heseltine",
    "Pemberton", "Fairweather", "Quennell", "Ramsbottom", "Sutcliffe", "Whitworth", "Holroyd", "Ackroyd", "Greenwood",
    "Haigh", "Lockwood", "Brook", "Dyson", "Crowther", "Firth", "Hirst", "Kaye", "Senior", "Bottomley", "Broadbent",
    "Womersley", "Oldroyd", "Garside"};
// Nicknames the normaliser maps to their formal names...
const std::pair<const char*, const char*> kNicknames[] = {
    {"Elizabeth", "Beth"}, {"Elizabeth", "Liz"}, {"Katherine", "Kate"}, {"Margaret", "Maggie"}, {"Rebecca", "Becky"},
    {"Jennifer", "Jenny"}, {"Abigail", "Abby"}, {"Eleanor", "Ellie"}, {"Deborah", "Debbie"}, {"William", "Will"},
    {"Thomas", "Tom"},     {"James", "Jim"},     {"Daniel", "Dan"},     {"Samuel", "Sam"}};
// ...and nicknames it does not know: linkage has to survive them on the
// other fields.
const std::pair<const char*, const char*> kUnknownNicknames[] = {
    {"Amelia", "Millie"},  {"Charlotte", "Lottie"}, {"Samantha", "Sam"},  {"Isla", "Izzy"},     {"Olivia", "Liv"},
    {"Jessica", "Jess"},   {"Natalie", "Nat"},      {"Gemma", "Gem"},     {"Nicola", "Nicky"},  {"Danielle", "Dani"},
    {"Elena", "Lena"},     {"Oliver", "Ollie"},     {"Alfie", "Alf"},     {"Freddie", "Fred"},  {"Joseph", "Joe"},
    {"Joshua", "Josh"},    {"Katherine", "Kathy"},  {"Rebecca", "Bex"},   {"Zuzanna", "Zuza"},  {"Abigail", "Abi"},
    {"Eleanor", "Nell"},   {"Margaret", "Peggy"},   {"Elizabeth", "Libby"}, {"Hannah", "Han"},  {"Megan", "Meg"}};

struct Region {
  const char* code;
  std::vector<const char*> areas;
  double births_share;
  double deprivation;  // 0 (affluent) .. 1
};
const std::array<Region, 9> kRegions = {{
    {"E12000001", {"NE", "SR", "DH", "TS"}, 0.045, 0.80},
    {"E12000002", {"M", "L", "BL", "PR", "WN"}, 0.125, 0.70},
    {"E12000003", {"LS", "S", "BD", "HU", "YO"}, 0.095, 0.65},
    {"E12000004", {"NG", "LE", "DE"}, 0.080, 0.55},
    {"E12000005", {"B", "WV", "CV", "ST"}, 0.110, 0.60},
    {"E12000006", {"CB", "NR", "IP", "CO"}, 0.105, 0.35},
    {"E12000007", {"E", "N", "SE", "SW", "NW"}, 0.190, 0.45},
    {"E12000008", {"BN", "RG", "OX", "GU", "ME"}, 0.160, 0.25},
    {"E12000009", {"BS", "EX", "PL", "BA"}, 0.090, 0.35},
}};

struct Person {
  uint64_t id;
  std::string nhs;
  std::string given;
  std::string family;         // current
  std::string birth_family;   // at birth (differs after marriage)
  absl::CivilDay dob;
  char sex;
  std::string postcode;
  std::string first_postcode;  // where the person lived first
};

std::string Iso(absl::CivilDay d) { return absl::StrFormat("%04d-%02d-%02d", d.year(), d.month(), d.day()); }

class Generator {
 public:
  explicit Generator(const PopulationOptions& options) : options_(options), rng_(options.seed) {}

  SyntheticPopulation Run() {
    SyntheticPopulation population;
    maternity_ = &population.datasets["maternity"];
    maternity_->header = {"record_id", "mother_nhs_number", "mother_given_name", "mother_family_name", "mother_dob",
                          "mother_postcode", "baby_nhs_number", "baby_given_name", "baby_family_name", "baby_dob",
                          "baby_sex", "event", "event_date", "region", "imd_decile"};
    social_ = &population.datasets["social_care"];
    social_->header = {"record_id", "nhs_number", "given_name", "family_name", "dob", "sex", "postcode",
                       "event", "event_date", "local_authority", "region"};
    court_ = &population.datasets["court"];
    court_->header = {"record_id", "child_given_name", "child_family_name", "child_dob", "child_sex",
                      "parent_given_name", "parent_family_name", "parent_dob", "parent_postcode", "event",
                      "event_date", "region", "parent_learning_disability"};
    for (uint32_t i = 0; i < options_.mothers; ++i) Mother();
    return population;
  }

 private:
  double U() { return std::uniform_real_distribution<double>(0, 1)(rng_); }
  int Int(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  template <typename T, size_t N>
  const T& Pick(const T (&items)[N]) { return items[static_cast<size_t>(Int(0, N - 1))]; }
  const char* Surname() {
    // Zipf-like: common surnames much more common.
    const size_t n = sizeof kSurnames / sizeof kSurnames[0];
    const double x = std::pow(U(), 2.2);
    return kSurnames[std::min(n - 1, static_cast<size_t>(x * n))];
  }

  std::string NhsNumber() {
    while (true) {
      std::string nhs;
      int sum = 0;
      for (int d = 0; d < 9; ++d) {
        const int digit = d == 0 ? Int(4, 9) : Int(0, 9);
        nhs.push_back(static_cast<char>('0' + digit));
        sum += digit * (10 - d);
      }
      int check = 11 - sum % 11;
      if (check == 11) check = 0;
      if (check == 10) continue;
      nhs.push_back(static_cast<char>('0' + check));
      if (used_nhs_.insert(nhs).second) return nhs;
    }
  }

  std::string Postcode(const Region& region) {
    static const char kLetters[] = "ABDEFGHJLNPQRSTUWXYZ";
    return absl::StrFormat("%s%d %d%c%c", region.areas[static_cast<size_t>(Int(0, region.areas.size() - 1))],
                           Int(1, 30), Int(0, 9), kLetters[Int(0, 19)], kLetters[Int(0, 19)]);
  }

  Person NewPerson(char sex, absl::CivilDay dob, const std::string& family, const std::string& postcode) {
    Person p;
    p.id = ++next_id_;
    p.nhs = NhsNumber();
    p.given = sex == 'F' ? Pick(kFemale) : Pick(kMale);
    p.family = family;
    p.birth_family = family;
    p.dob = dob;
    p.sex = sex;
    p.postcode = postcode;
    p.first_postcode = postcode;
    return p;
  }

  // --- identifier errors, applied to each recorded occurrence ---
  const ErrorProfile& E() const { return options_.errors; }
  std::string Typo(std::string s) {
    if (s.size() < 3) return s;
    const size_t i = static_cast<size_t>(Int(1, static_cast<int>(s.size()) - 1));
    switch (Int(0, 2)) {
      case 0: s[i] = static_cast<char>('a' + Int(0, 25)); break;                   // substitution
      case 1: s.erase(i, 1); break;                                                 // deletion
      default: if (i + 1 < s.size()) std::swap(s[i], s[i + 1]); break;             // transposition
    }
    return s;
  }
  template <size_t N>
  static const char* NicknameOf(const std::string& given, const std::pair<const char*, const char*> (&list)[N]) {
    for (const auto& [formal, nick] : list) {
      if (given == formal) return nick;
    }
    return nullptr;
  }
  std::string Given(const std::string& given) {
    std::string out = given;
    if (U() < E().nickname && NicknameOf(given, kNicknames) != nullptr) out = NicknameOf(given, kNicknames);
    if (U() < E().unknown_nickname && NicknameOf(given, kUnknownNicknames) != nullptr) {
      out = NicknameOf(given, kUnknownNicknames);
    }
    if (U() < E().given_typo) out = Typo(out);
    if (U() < E().upper_case) out = absl::AsciiStrToUpper(out);
    return out;
  }
  std::string Family(const std::string& family) {
    std::string out = U() < E().family_typo ? Typo(family) : family;
    if (U() < E().upper_case) out = absl::AsciiStrToUpper(out);
    if (U() < E().hyphen_as_space) std::replace(out.begin(), out.end(), '-', ' ');
    return out;
  }
  std::string Dob(absl::CivilDay d) {
    const double r = U();
    if (r < E().dob_transposed) {
      if (d.day() <= 12 && d.day() != d.month()) return absl::StrFormat("%04d-%02d-%02d", d.year(), d.day(), d.month());
    } else if (r < E().dob_transposed + E().dob_days_off) {
      return Iso(d + (Int(0, 1) ? 1 : -1) * Int(1, 9));  // keyed wrongly
    } else if (r < E().dob_transposed + E().dob_days_off + E().dob_year_off) {
      const int year = d.year() + (Int(0, 1) ? 1 : -1);
      return Iso(absl::CivilDay(year, d.month(), std::min(d.day(), 28)));
    }
    return Iso(d);
  }
  std::string Nhs(const std::string& nhs, double missing_rate) {
    if (U() < missing_rate) return "";
    if (U() < E().nhs_mistyped) {  // mistyped: fails the check digit or becomes another number
      std::string t = nhs;
      const size_t i = static_cast<size_t>(Int(0, 9));
      t[i] = static_cast<char>('0' + (t[i] - '0' + Int(1, 9)) % 10);
      return t;
    }
    return U() < 0.5 ? absl::StrCat(nhs.substr(0, 3), " ", nhs.substr(3, 3), " ", nhs.substr(6)) : nhs;
  }
  void MaybeSwap(std::string& given, std::string& family) {
    if (U() < E().names_swapped) std::swap(given, family);
  }
  void MaybeMove(Person& p, const Region& region) {
    if (U() < E().moved) p.postcode = Postcode(region);
  }

  // A maternity row about the mother and, when `baby` is given, her baby.
  // `birth_row` marks the baby's birth (or stillbirth) record.
  void AddMaternity(const Person& mother, const Person* baby, bool birth_row, const char* event, absl::CivilDay date,
                    const Region& region, int imd) {
    SyntheticRow row;
    std::string mg = Given(mother.given), mf = Family(mother.family);
    MaybeSwap(mg, mf);
    row.cells = {absl::StrCat("M", ++maternity_row_), Nhs(mother.nhs, E().nhs_missing_mother), mg, mf, Dob(mother.dob),
                 mother.postcode, "", "", "", "", "", event, Iso(date), region.code, absl::StrCat(imd)};
    row.truth.push_back({"mother", mother.id});
    if (baby != nullptr) {
      std::string bg = birth_row && U() < E().unnamed_newborn ? "Baby" : Given(baby->given);
      std::string bf = Family(baby->family);
      row.cells[6] = U() < E().mother_nhs_on_baby ? mother.nhs : Nhs(baby->nhs, E().nhs_missing_baby);
      row.cells[7] = bg;
      row.cells[8] = bf;
      row.cells[9] = Dob(baby->dob);
      row.cells[10] = std::string(1, baby->sex);
      row.truth.push_back({"baby", baby->id});
    }
    maternity_->rows.push_back(std::move(row));
  }

  void AddSocialCare(const Person& person, bool childhood, const char* event, absl::CivilDay date,
                     const Region& region) {
    SyntheticRow row;
    const bool birth_name = childhood || U() < E().maiden_name_in_social_care;
    std::string g = Given(person.given), f = Family(birth_name ? person.birth_family : person.family);
    MaybeSwap(g, f);
    row.cells = {absl::StrCat("S", ++social_row_), Nhs(person.nhs, E().nhs_missing_social_care), g, f, Dob(person.dob),
                 std::string(1, person.sex), person.postcode, event, Iso(date),
                 absl::StrFormat("E0%d%06d", Int(6, 9), Int(0, 999)), region.code};
    row.truth.push_back({"person", person.id});
    social_->rows.push_back(std::move(row));
  }

  void AddCourt(const Person& child, const Person& parent, const char* event, absl::CivilDay date,
                const Region& region, const char* disability) {
    SyntheticRow row;
    std::string cg = Given(child.given), cf = Family(child.family);
    std::string pg = Given(parent.given), pf = Family(parent.family);
    MaybeSwap(pg, pf);
    const std::string postcode = U() < E().court_old_postcode ? parent.first_postcode : parent.postcode;
    row.cells = {absl::StrCat("C", ++court_row_), cg, cf, Dob(child.dob), std::string(1, child.sex), pg, pf,
                 Dob(parent.dob), postcode, event, Iso(date), region.code, disability};
    row.truth.push_back({"child", child.id});
    row.truth.push_back({"parent", parent.id});
    court_->rows.push_back(std::move(row));
  }

  const Region& PickRegion() {
    double r = U(), acc = 0;
    for (const Region& region : kRegions) {
      acc += region.births_share;
      if (r < acc) return region;
    }
    return kRegions.back();
  }

  void Mother() {
    const Region& region = PickRegion();
    const int imd = std::clamp(static_cast<int>(std::lround(10 - region.deprivation * 6 + (U() - 0.5) * 8)), 1, 10);
    const double risk = std::clamp((10 - imd) / 12.0 + (U() < 0.1 ? 0.4 : 0.0), 0.0, 1.0);
    Person mother = NewPerson('F', absl::CivilDay(Int(1976, 2003), Int(1, 12), Int(1, 28)), Surname(),
                              Postcode(region));
    if (U() < 0.3) mother.family = Surname();  // married: maternity uses the new name

    // Her own childhood: looked after by the local authority.
    // Care experience runs in families: about half the mothers whose babies
    // enter proceedings were themselves looked after.
    const bool was_looked_after = U() < 0.02 + 0.2 * risk * risk;
    if (was_looked_after) {
      AddSocialCare(mother, /*childhood=*/true, "looked_after", mother.dob + Int(3 * 365, 15 * 365), region);
    }

    const int pregnancies = 1 + (U() < 0.4) + (U() < 0.15);
    absl::CivilDay birth(Int(2011, 2023), Int(1, 12), Int(1, 28));
    for (int k = 0; k < pregnancies && birth.year() <= 2023; ++k) {
      MaybeMove(mother, region);
      // The babies of this pregnancy (twins now and then), known before the
      // rows are written: providers repeat a baby's identifiers on the
      // pregnancy's other rows once it is born.
      const int count = U() < 0.015 ? 2 : 1;
      const std::string baby_family = U() < 0.7 ? mother.family : Surname();
      std::vector<Person> babies;
      for (int b = 0; b < count; ++b) babies.push_back(NewPerson(U() < 0.49 ? 'F' : 'M', birth, baby_family, mother.postcode));
      const Person* on_rows = U() < E().baby_on_pregnancy_rows ? &babies[0] : nullptr;

      const absl::CivilDay booking = birth - Int(150, 220);
      if (booking.year() >= 2011) AddMaternity(mother, on_rows, false, "booking", booking, region, imd);
      if (U() < 0.08) AddMaternity(mother, on_rows, false, "pmh_referral", booking + Int(20, 120), region, imd);
      if (U() < 0.02 + 0.08 * risk) {
        AddMaternity(mother, on_rows, false, "specialist_midwife_substance", booking + Int(10, 60), region, imd);
      }
      const bool social_care_pregnancy = U() < 0.02 + 0.25 * risk;
      if (social_care_pregnancy) AddSocialCare(mother, false, "pre_birth_assessment", birth - Int(20, 90), region);

      for (const Person& baby : babies) {
        if (U() < 0.004) {
          AddMaternity(mother, &baby, true, "stillbirth", birth, region, imd);
          continue;
        }
        AddMaternity(mother, &baby, true, "birth", birth, region, imd);
        if (social_care_pregnancy || U() < 0.01 + 0.1 * risk) {
          const char* event = U() < 0.5 ? "cin_referral" : (U() < 0.6 ? "child_protection_plan" : "looked_after");
          AddSocialCare(baby, false, event, birth + Int(0, 700), region);
        }
        if (U() < (0.003 + 0.04 * risk * (social_care_pregnancy ? 3 : 1)) * (was_looked_after ? 15 : 1)) {
          // Newborns' share of infant proceedings rose from ~40% (2011) to ~52% (2023).
          const double newborn_share = 0.40 + 0.12 * (birth.year() - 2011) / 12.0;
          const absl::CivilDay issued = birth + (U() < newborn_share ? Int(0, 27) : Int(28, 364));
          const char* disability = U() < 0.05 ? "U" : (U() < 0.33 ? "Y" : "N");
          AddCourt(baby, mother, "care_proceedings", issued, region, disability);
          if (U() < 0.5) AddCourt(baby, mother, "placement_order", issued + Int(120, 300), region, disability);
        }
      }
      // Maternal deaths are rare and concentrated where risk is high (rates
      // are inflated so that demo-sized tables have something to release).
      if (U() < 0.0003 + 0.004 * risk * risk) {
        AddMaternity(mother, on_rows, false, "maternal_death", birth + Int(0, 300), region, imd);
      }
      birth = birth + Int(400, 1500);
    }
  }

  PopulationOptions options_;
  std::mt19937_64 rng_;
  uint64_t next_id_ = 0;
  std::set<std::string> used_nhs_;
  uint64_t maternity_row_ = 0, social_row_ = 0, court_row_ = 0;
  SyntheticDataset* maternity_ = nullptr;
  SyntheticDataset* social_ = nullptr;
  SyntheticDataset* court_ = nullptr;
};

std::string CsvCell(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  return out + "\"";
}

}  // namespace

size_t SyntheticPopulation::records() const {
  size_t n = 0;
  for (const auto& [name, dataset] : datasets) n += dataset.rows.size();
  return n;
}

ErrorProfile ErrorProfile::Default() {
  ErrorProfile e;
  e.nickname = 0.02;
  e.given_typo = 0.015;
  e.family_typo = 0.015;
  e.upper_case = 0.1;
  e.hyphen_as_space = 0.02;
  e.names_swapped = 0.004;
  e.dob_transposed = 0.005;
  e.dob_days_off = 0.004;
  e.moved = 0.15;
  e.nhs_missing_mother = 0.02;
  e.nhs_missing_baby = 0.03;
  e.nhs_missing_social_care = 0.2;
  e.nhs_mistyped = 0.005;
  e.baby_on_pregnancy_rows = 0.5;
  return e;
}

ErrorProfile ErrorProfile::Harsh() {
  ErrorProfile e;
  e.nickname = 0.08;
  e.unknown_nickname = 0.05;
  e.given_typo = 0.05;
  e.family_typo = 0.05;
  e.upper_case = 0.3;
  e.hyphen_as_space = 0.1;
  e.names_swapped = 0.02;
  e.dob_transposed = 0.03;
  e.dob_days_off = 0.02;
  e.dob_year_off = 0.02;
  e.moved = 0.4;
  e.nhs_missing_mother = 0.1;
  e.nhs_missing_baby = 0.15;
  e.nhs_missing_social_care = 0.7;
  e.nhs_mistyped = 0.02;
  e.mother_nhs_on_baby = 0.01;
  e.baby_on_pregnancy_rows = 1.0;
  e.unnamed_newborn = 0.3;
  e.maiden_name_in_social_care = 0.4;
  e.court_old_postcode = 0.5;
  return e;
}

absl::StatusOr<ErrorProfile> ErrorProfileNamed(const std::string& name) {
  if (name == "default") return ErrorProfile::Default();
  if (name == "harsh") return ErrorProfile::Harsh();
  if (name == "none") return ErrorProfile::None();
  return absl::InvalidArgumentError(absl::StrCat("error profile \"", name, "\": expected default, harsh or none"));
}

SyntheticPopulation GeneratePopulation(const PopulationOptions& options) { return Generator(options).Run(); }

absl::StatusOr<SyntheticPopulation> ReadPopulation(const std::string& dir) {
  SyntheticPopulation population;
  for (const char* name : {"maternity", "social_care", "court"}) {
    std::ifstream in(absl::StrCat(dir, "/", name, ".csv"), std::ios::binary);
    if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", dir, "/", name, ".csv"));
    CsvReader reader(in);
    SyntheticDataset& dataset = population.datasets[name];
    std::vector<std::string> row;
    bool header = true;
    while (true) {
      absl::StatusOr<bool> next = reader.Next(row);
      if (!next.ok()) return next.status();
      if (!*next) break;
      if (header) {
        dataset.header = row;
        header = false;
      } else {
        dataset.rows.push_back({row, {}});
      }
    }
  }
  std::ifstream truth(dir + "/truth.csv");
  if (!truth) return absl::NotFoundError(absl::StrCat("cannot open ", dir, "/truth.csv"));
  CsvReader reader(truth);
  std::vector<std::string> row;
  bool header = true;
  while (true) {
    absl::StatusOr<bool> next = reader.Next(row);
    if (!next.ok()) return next.status();
    if (!*next) break;
    if (header || row.size() != 4) {
      header = false;
      continue;
    }
    auto it = population.datasets.find(row[0]);
    size_t r = 0;
    uint64_t person = 0;
    if (it == population.datasets.end() || !absl::SimpleAtoi(row[1], &r) || !absl::SimpleAtoi(row[3], &person) ||
        r == 0 || r > it->second.rows.size()) {
      return absl::InvalidArgumentError(absl::StrCat(dir, "/truth.csv: bad line"));
    }
    it->second.rows[r - 1].truth.push_back({row[2], person});
  }
  return population;
}

absl::Status WritePopulation(const SyntheticPopulation& population, const std::string& dir) {
  std::ofstream truth(dir + "/truth.csv");
  truth << "dataset,row,role,person\n";
  for (const auto& [name, dataset] : population.datasets) {
    std::ofstream out(dir + "/" + name + ".csv");
    for (size_t c = 0; c < dataset.header.size(); ++c) out << (c ? "," : "") << dataset.header[c];
    out << "\n";
    for (size_t r = 0; r < dataset.rows.size(); ++r) {
      const SyntheticRow& row = dataset.rows[r];
      for (size_t c = 0; c < row.cells.size(); ++c) out << (c ? "," : "") << CsvCell(row.cells[c]);
      out << "\n";
      for (const auto& [role, person] : row.truth) truth << name << "," << r + 1 << "," << role << "," << person << "\n";
    }
    if (!out) return absl::InternalError(absl::StrCat("cannot write ", dir, "/", name, ".csv"));
  }
  if (!truth) return absl::InternalError(absl::StrCat("cannot write ", dir, "/truth.csv"));
  return absl::OkStatus();
}

SyntheticPopulation SplitOffExtract(SyntheticPopulation& population, double share) {
  SyntheticPopulation extract;
  for (auto& [name, dataset] : population.datasets) {
    SyntheticDataset& later = extract.datasets[name];
    later.header = dataset.header;
    const auto keep = static_cast<size_t>(static_cast<double>(dataset.rows.size()) * (1 - share));
    later.rows.assign(std::make_move_iterator(dataset.rows.begin() + static_cast<std::ptrdiff_t>(keep)),
                      std::make_move_iterator(dataset.rows.end()));
    dataset.rows.resize(keep);
  }
  return extract;
}


}  // namespace trelink
