package uk.nhs.hee.tis.examples.tcs;

import java.util.List;

import org.springframework.http.HttpHeaders;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RequestHeader;
import org.springframework.web.bind.annotation.RestController;

/** The endpoints of the example: one that needs Profile, one that does not. */
@RestController
class TraineeController {

	static final String STALE_HEADER = "X-Profile-Stale";

	private final UserInfoService userInfo;

	TraineeController(UserInfoService userInfo) {
		this.userInfo = userInfo;
	}

	@GetMapping("/api/trainees")
	ResponseEntity<List<String>> trainees(@RequestHeader(HttpHeaders.AUTHORIZATION) String authorization) {
		// What tcs does on every authenticated request: load the caller's permissions first.
		UserInfoService.UserInfo caller = this.userInfo.load(authorization);
		return ResponseEntity.ok()
			.header(STALE_HEADER, Boolean.toString(caller.stale()))
			.body(List.of("Ada Lovelace", "Mary Seacole"));
	}

	@GetMapping("/api/status")
	String status() {
		return "UP";
	}

}
