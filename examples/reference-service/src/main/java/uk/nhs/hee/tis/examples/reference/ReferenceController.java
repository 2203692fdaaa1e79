package uk.nhs.hee.tis.examples.reference;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

import org.springframework.http.HttpStatus;
import org.springframework.security.core.annotation.AuthenticationPrincipal;
import org.springframework.security.oauth2.jwt.Jwt;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.server.ResponseStatusException;

/** Reference's read API: sites and grades by id, and the bulk export of grades for service accounts. */
@RestController
@RequestMapping("/api")
class ReferenceController {

	private static final Map<Long, Site> SITES = index(List.of(new Site(1, "RTH01", "John Radcliffe Hospital"),
			new Site(2, "RGT01", "Addenbrooke's Hospital"), new Site(3, "RJ121", "St Thomas' Hospital"),
			new Site(4, "RRV03", "University College Hospital"), new Site(5, "RX1RA", "Nottingham City Hospital")));

	private static final Map<Long, Grade> GRADES = index(List.of(new Grade(1, "Foundation Year 1"),
			new Grade(2, "Foundation Year 2"), new Grade(3, "Core Training Year 1"), new Grade(4, "Specialty Training Year 3")));

	@GetMapping("/sites/ids/in")
	List<Site> sites(@RequestParam Set<Long> ids) {
		return ids.stream().map(SITES::get).filter((site) -> site != null).toList();
	}

	@GetMapping("/grades/ids/in")
	List<Grade> grades(@RequestParam Set<Long> ids) {
		return ids.stream().map(GRADES::get).filter((grade) -> grade != null).toList();
	}

	/** Every grade: what a service's nightly sync reads, with its own service-account token. */
	@GetMapping("/grades")
	List<Grade> allGrades(@AuthenticationPrincipal Jwt token) {
		String user = token.getClaimAsString("preferred_username");
		if (user == null || !user.startsWith("service-account-")) {
			throw new ResponseStatusException(HttpStatus.FORBIDDEN, "The bulk export is for service accounts");
		}
		return List.copyOf(GRADES.values());
	}

	private static <T extends Identified> Map<Long, T> index(List<T> items) {
		Map<Long, T> index = new TreeMap<>();
		items.forEach((item) -> index.put(item.id(), item));
		return index;
	}

	interface Identified {

		long id();

	}

	record Site(long id, String siteCode, String siteName) implements Identified {
	}

	record Grade(long id, String name) implements Identified {
	}

}
