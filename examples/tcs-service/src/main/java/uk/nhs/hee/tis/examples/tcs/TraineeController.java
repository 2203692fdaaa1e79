package uk.nhs.hee.tis.examples.tcs;

import java.util.List;
import java.util.Map;

import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RequestHeader;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.server.ResponseStatusException;

/**
 * The endpoints of the example: one that needs Profile (and Reference for names), one that needs
 * nothing, and a sync that calls Reference with tcs's service token.
 */
@RestController
class TraineeController {

	static final String STALE_HEADER = "X-Profile-Stale";

	static final String DEGRADED_HEADER = "X-Degraded";

	private static final List<Trainee> TRAINEES = List.of(new Trainee("Ada Okafor", 1), new Trainee("Ben Walsh", 2),
			new Trainee("Chloe Singh", 3), new Trainee("Dan Evans", 4));

	private final UserInfoService userInfo;

	private final SiteNames siteNames;

	private final ReferenceClient reference;

	TraineeController(UserInfoService userInfo, SiteNames siteNames, ReferenceClient reference) {
		this.userInfo = userInfo;
		this.siteNames = siteNames;
		this.reference = reference;
	}

	@GetMapping("/api/trainees")
	ResponseEntity<List<Map<String, Object>>> trainees(@RequestHeader(HttpHeaders.AUTHORIZATION) String authorization) {
		// What tcs does on every authenticated request: load the caller's permissions first.
		UserInfoService.UserInfo caller = this.userInfo.load(authorization);
		if (!caller.permissions().contains("tcs:view:entities")) {
			throw new ResponseStatusException(HttpStatus.FORBIDDEN, "tcs:view:entities is needed");
		}
		SiteNames.Names names = this.siteNames.of(authorization, TRAINEES.stream().map(Trainee::siteId).toList());
		List<Map<String, Object>> body = TRAINEES.stream().map((trainee) -> withSiteName(trainee, names)).toList();
		ResponseEntity.BodyBuilder response = ResponseEntity.ok().header(STALE_HEADER, Boolean.toString(caller.stale()));
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
