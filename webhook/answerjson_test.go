package webhook

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/volumeguard/volumeguard/policy"
)

// TestMarshalAnswerMatchesEncodingJSON: the direct encoding of an answer is
// byte for byte json.Marshal's, for every kind of answer the handlers give.
func TestMarshalAnswerMatchesEncodingJSON(t *testing.T) {
	patchType := admissionv1.PatchTypeJSONPatch
	tests := []struct {
		name string
		resp admissionv1.AdmissionResponse
	}{
		{"empty", admissionv1.AdmissionResponse{}},
		{"allowed", admission.Allowed("").AdmissionResponse},
		{"allowed with reason", admission.Allowed("mirror pod").AdmissionResponse},
		{"completed", admissionv1.AdmissionResponse{UID: "u-1", Allowed: true, Result: &metav1.Status{Code: 200}}},
		{"denied", admission.Denied("volumeguard (mode enforce) denies this pod:\n- <container> \"zk\" & more\n  fix: ...").AdmissionResponse},
		{"errored", admission.Errored(http.StatusInternalServerError, errors.New("panic: boom [recovered]")).AdmissionResponse},
		{"status with details", admissionv1.AdmissionResponse{UID: "u", Result: &metav1.Status{Code: 422, Details: &metav1.StatusDetails{Name: "p"}}}},
		{"status with list meta", admissionv1.AdmissionResponse{UID: "u", Result: &metav1.Status{ListMeta: metav1.ListMeta{ResourceVersion: "1"}}}},
		{"patched", admissionv1.AdmissionResponse{
			UID: "0df28fbd-5f5f-11e8-bc74-36e6bb280816", Allowed: true, Result: &metav1.Status{Code: 200},
			Patch:     []byte(`[{"op":"add","path":"/spec/volumes/-","value":{"name":"vg-zk-data","emptyDir":{"sizeLimit":"1Gi"}}}]`),
			PatchType: &patchType,
			AuditAnnotations: map[string]string{
				AuditMode: "mutate", AuditFindings: `[{"container":"zk","containerType":"container","image":"zookeeper:3.4.13","path":"/data"}]`, AuditFindingsOmitted: "3",
			},
			Warnings: []string{"volumeguard: added emptyDir \"vg-zk-data\" (sizeLimit 1Gi) at \"/data\"", "ünïcode \u2028 <>&", "\xff"},
		}},
		{"empty warnings and annotations", admissionv1.AdmissionResponse{UID: "u", Allowed: true, Warnings: []string{}, AuditAnnotations: map[string]string{}, Patch: []byte{}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want, err := json.Marshal(&admissionv1.AdmissionReview{TypeMeta: reviewType, Response: &tt.resp})
			if err != nil {
				t.Fatal(err)
			}
			got, err := marshalAnswer(&tt.resp)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("marshalAnswer:\n got %s\nwant %s", got, want)
			}
		})
	}
}

// TestAuditFindingsMatchEncodingJSON: the findings annotation is the JSON
// array encoding/json makes of the same auditFinding values, cut at the
// same entry.
func TestAuditFindingsMatchEncodingJSON(t *testing.T) {
	long := strings.Repeat("/very-long-path", 20)
	tests := []struct {
		name     string
		findings []policy.Finding
	}{
		{"one", []policy.Finding{{Container: "zk", ContainerType: policy.Container, Image: "zookeeper:3.4.13", Path: "/data"}}},
		{"escaped", []policy.Finding{{Container: "a<b>", ContainerType: policy.InitContainer, Image: "r/x@sha256:00", Path: "/d\"ä\u2028\x01"}}},
		{"cut", slices.Repeat([]policy.Finding{{Container: "c", ContainerType: policy.Container, Image: "i", Path: long}}, 20)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := &outcome{mode: ModeMutate, findings: tt.findings}
			got := o.auditAnnotations()
			var want []string
			size := 1
			for _, f := range tt.findings {
				b, err := json.Marshal(auditFinding{f.Container, f.ContainerType, f.Image, f.Path})
				if err != nil {
					t.Fatal(err)
				}
				if size+len(b)+2 > maxAuditValue {
					break
				}
				size += len(b) + 1
				want = append(want, string(b))
			}
			if w := "[" + strings.Join(want, ",") + "]"; got[AuditFindings] != w {
				t.Errorf("findings annotation:\n got %s\nwant %s", got[AuditFindings], w)
			}
			if omitted := len(tt.findings) - len(want); omitted > 0 && got[AuditFindingsOmitted] != strconv.Itoa(omitted) {
				t.Errorf("omitted = %q, want %d", got[AuditFindingsOmitted], omitted)
			}
		})
	}
}
