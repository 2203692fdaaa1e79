package uk.nhs.hee.tis.examples.tcs;

import java.util.List;
import java.util.Map;

import org.springframework.http.HttpHeaders;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RequestHeader;
import org.springframework.web.bind.annotation.RestController;

/**
 * The endpoints of the example: the trainees (their site names from Reference), a sync that calls
 * Reference with tcs's service token, and a status that needs nothing. The caller's permissions
 * are loaded from Profile before either of the first two runs ({@link CallerPermissions}).
 */
@RestController
class TraineeController {

	static final String DEGRADED_HEADER = "X-Degraded";

	private static final List<Trainee> TRAINEES = List.of(new Trainee("Ada Okafor", 1), new Trainee("Ben Walsh", 2),
			new Trainee("Chloe Singh", 3), new Trainee("Dan Evans", 4));

	private final SiteNames siteNames;

	private final ReferenceClient reference;

	TraineeController(SiteNames siteNames, ReferenceClient reference) {
		this.siteNames = siteNames;
		this.reference = reference;
	}

	@GetMapping("/api/trainees")
	ResponseEntity<List<Map<String, Object>>> trainees(@RequestHeader(HttpHeaders.AUTHORIZATION) String authorization) {
		SiteNames.Names names = this.siteNames.of(authorization, TRAINEES.stream().map(Trainee::siteId).toList());
		List<Map<String, Object>> body = TRAINEES.stream().map((trainee) -> withSiteName(trainee, names)).toList();
		ResponseEntity.BodyBuilder response = ResponseEntity.ok();
		if (names.degraded()) {
			response.header(DEGRADED_HEADER, "reference");
		}
		return response.body(body);
	}

	/** What a nightly job runs: copy Reference's grades, with tcs's own service-account token. */
	@GetMapping("/api/sync/grades")
	Map<String, Integer> syncGrades() {
		return Map.of("grades", this.reference.allGrades().size());
	}

	@GetMapping("/api/status")
	String status() {
		return "UP";
	}

	private static Map<String, Object> withSiteName(Trainee trainee, SiteNames.Names names) {
		String siteName = names.byId().get(trainee.siteId());
		return (siteName != null) ? Map.of("name", trainee.name(), "siteId", trainee.siteId(), "siteName", siteName)
				: Map.of("name", trainee.name(), "siteId", trainee.siteId());
	}

	private record Trainee(String name, long siteId) {
	}

}
